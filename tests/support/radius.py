"""FreeRADIUS running the configuration docs/consumers/freeradius.md publishes, on a free port.

The published files (the ldap module, the policy, the sites, EAP, the clients) are used as a
school writes them, with the example site's values swapped for the test's. Around them this
module writes what Debian's /etc/freeradius/3.0 would give: a small radiusd.conf whose folders
are all the test's own, and the pap and expr modules. freeradius runs in the foreground (-X)
as the test's child and is stopped by its PID; its output is the log the tests read reasons in.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import programs
from tests.support.ports import free_port

FREERADIUS = shutil.which("freeradius") or "/usr/sbin/freeradius"
RADCLIENT = shutil.which("radclient") or "/usr/bin/radclient"
EAPOL_TEST = shutil.which("eapol_test") or "/usr/bin/eapol_test"
READY = "Ready to process requests"
SECRET = "radius-test-shared-secret"  # the test's access point's, never a real one

_RADIUSD_CONF = """\
# The test's own radiusd.conf: Debian's reads /etc; this one reads and writes only {root}.
prefix = /usr
exec_prefix = /usr
sysconfdir = {root}
localstatedir = {root}
sbindir = /usr/sbin
logdir = {root}/log
raddbdir = {root}
radacctdir = {root}/log/radacct
name = freeradius
confdir = {root}
modconfdir = {root}/mods-config
certdir = {root}/certs
cadir = {root}/certs
run_dir = {root}/run
db_dir = {root}
libdir = /usr/lib/freeradius
pidfile = {root}/run/freeradius.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
# No user or group: freeradius stays the test's user, who owns these files.
log {{
	destination = stdout
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}}
thread pool {{
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 2
	max_requests_per_server = 0
}}
modules {{
	$INCLUDE mods-enabled/
}}
policy {{
	$INCLUDE policy.d/
}}
$INCLUDE clients.conf
$INCLUDE sites-enabled/
"""

# Debian's mods-enabled has these (and many more the published sites do not use).
_BOILERPLATE_MODULES = {
    "always": "always reject {\n\trcode = reject\n}\n",
    "pap": "pap {\n\tnormalise = yes\n}\n",
    "expr": 'expr {\n\tsafe_characters = "@abcdefghijklmnopqrstuvwxyz0123456789.-_: /"\n}\n',
}


@dataclass(frozen=True)
class Radius:
    """A running freeradius: its UDP auth port and the file its output goes to."""

    port: int
    output: Path

    def log(self) -> str:
        """Return what freeradius has printed until now."""
        return self.output.read_text(errors="replace")


@dataclass(frozen=True)
class Answer:
    """What the server answered: Access-Accept or Access-Reject, and its Reply-Message."""

    accepted: bool
    reply_message: str
    text: str


def free_udp_port() -> int:
    """Return a port of this worker's band that is free for TCP and for UDP."""
    for _ in range(100):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for UDP")


def write_config(folder: Path, published: dict[str, str]) -> None:
    """Write a config directory: the published files plus radiusd.conf and the boilerplate."""
    for folder_name in ("mods-enabled", "policy.d", "sites-enabled", "certs", "log", "run"):
        (folder / folder_name).mkdir(parents=True, exist_ok=True)
    for name, text in published.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o600)
    for name, text in _BOILERPLATE_MODULES.items():
        (folder / "mods-enabled" / name).write_text(text)
    (folder / "radiusd.conf").write_text(_RADIUSD_CONF.format(root=folder))


@contextmanager
def running(folder: Path, port: int, timeout: float = 30) -> Iterator[Radius]:
    """Run ``freeradius -X -d folder`` until the block ends; ready at "Ready to process"."""
    server = Radius(port, folder / "freeradius.out")
    with programs.running(
        [FREERADIUS, "-X", "-d", str(folder)],
        server.output,
        ready=lambda: READY in server.log(),
        timeout=timeout,
    ):
        yield server


def pap(server: Radius, login: str, password: str) -> Answer:
    """Ask the server about a login and password with radclient (PAP), as an access point would."""
    request = (
        f'User-Name = "{login}"\nUser-Password = "{password}"\n'
        "NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n"
    )
    done = subprocess.run(
        [RADCLIENT, "-x", "-r", "1", "-t", "10", f"127.0.0.1:{server.port}", "auth", SECRET],
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = done.stdout + done.stderr
    accepted, rejected = "Received Access-Accept" in text, "Received Access-Reject" in text
    if accepted == rejected:
        raise AssertionError(f"radclient got no answer:\n{text}\n{server.log()[-3000:]}")
    message = ""
    for line in text.splitlines():
        if "Reply-Message = " in line:
            message = line.split("Reply-Message = ", 1)[1].strip().strip('"')
    return Answer(accepted, message, text)


def eap_ttls_pap(
    server: Radius, folder: Path, login: str, password: str, *, ca: Path, server_name: str
) -> bool:
    """Join as a device set to EAP-TTLS with inner PAP would, with eapol_test; True if accepted.

    The device trusts ``ca`` and checks the server certificate's name, as the docs tell
    schools to set devices; the outer identity is anonymous.
    """
    network = folder / f"eapol-{time.monotonic_ns()}.conf"
    network.write_text(
        "network={\n"
        "\tkey_mgmt=WPA-EAP\n"
        "\teap=TTLS\n"
        f'\tidentity="{login}"\n'
        '\tanonymous_identity="anonymous"\n'
        f'\tpassword="{password}"\n'
        '\tphase2="auth=PAP"\n'
        f'\tca_cert="{ca}"\n'
        f'\tdomain_match="{server_name}"\n'
        "}\n"
    )
    done = subprocess.run(
        [EAPOL_TEST, "-c", str(network), "-a", "127.0.0.1", "-p", str(server.port)]
        + ["-s", SECRET, "-t", "20"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    network.unlink()
    if done.returncode == 0:
        assert "SUCCESS" in done.stdout, done.stdout[-3000:]
        return True
    assert "Access-Reject" in done.stdout or "EAP-Failure" in done.stdout, (
        f"eapol_test neither accepted nor was rejected:\n{done.stdout[-3000:]}"
    )
    return False


def temporary_folder() -> Path:
    """Return a new folder for one server's configuration."""
    return Path(tempfile.mkdtemp(prefix="mims-radius-"))
