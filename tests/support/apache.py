"""Debian's apache2 with a small main configuration of the test's own, on a free port.

The main configuration loads the modules a site needs from /usr/lib/apache2/modules (the
LoadModule lines of /etc/apache2/mods-available), listens on 127.0.0.1 only, and keeps its pid
file, logs and runtime files in one temp folder; it includes the site text the test gives it
(for the consumer tests, a block published in docs/consumers/). apache2 runs in the foreground
as the test's child and is stopped by its PID.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from bridge.directory.slapd import port_in_use
from tests.support import programs
from tests.support.ports import free_port

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
# name -> file, as in /etc/apache2/mods-available/*.load; event is Debian's default MPM.
BASE_MODULES = {
    "mpm_event_module": "mod_mpm_event.so",
    "authn_core_module": "mod_authn_core.so",
    "authz_core_module": "mod_authz_core.so",
    "authz_user_module": "mod_authz_user.so",
    "auth_basic_module": "mod_auth_basic.so",
    "headers_module": "mod_headers.so",
}


@dataclass(frozen=True)
class Response:
    """What apache2 answered: the status and the headers."""

    status: int
    headers: Message


@dataclass(frozen=True)
class Apache:
    """A running apache2: its port and its folder (document root ``www``, ``error.log``)."""

    port: int
    folder: Path

    def get(self, path: str, user: str, password: str) -> Response:
        """GET ``path`` with HTTP Basic credentials (RFC 7617), on a new connection."""
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Basic {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Response(answer.status, answer.headers)
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers)

    def error_log(self) -> str:
        """Return what apache2 has logged until now."""
        return (self.folder / "error.log").read_text()


def missing(modules: dict[str, str]) -> str | None:
    """Return why apache2 with ``modules`` cannot run here, or None if it can."""
    for path in (Path(APACHE), *(MODULES / file for file in (BASE_MODULES | modules).values())):
        if not path.exists():
            return f"{path} is not installed (Debian apache2)"
    return None


def main_config(folder: Path, port: int, modules: dict[str, str], site: Path) -> str:
    """Return an apache2.conf whose own files are all in ``folder``, including ``site``."""
    loads = "".join(f"LoadModule {name} {MODULES / file}\n" for name, file in modules.items())
    # Started as root, apache2 hands its children to User; Debian's is www-data.
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return (
        f"ServerRoot {folder}\n"
        "ServerName 127.0.0.1\n"
        f"Listen 127.0.0.1:{port}\n"
        f"PidFile {folder / 'apache2.pid'}\n"
        f"DefaultRuntimeDir {folder}\n"
        f"ErrorLog {folder / 'error.log'}\n"
        "LogLevel info\n"
        f"{loads}{user}"
        # One child, so that the error log's lines come in request order.
        "StartServers 1\nServerLimit 1\nThreadsPerChild 16\nThreadLimit 16\n"
        "MaxRequestWorkers 16\n"
        f"DocumentRoot {folder / 'www'}\n"
        f'<Directory "{folder / "www"}">\n    Require all granted\n</Directory>\n'
        f"Include {site}\n"
    )


@contextmanager
def serving(
    site: Callable[[Path], str], modules: dict[str, str], pages: tuple[str, ...]
) -> Iterator[Apache]:
    """Run apache2 with the text ``site(folder)`` returns and ``modules`` on top of the base ones.

    ``site`` may copy files that the children read into ``folder``, which www-data can read:
    mod_ldap reads its CA file at the first connection, after the switch from root. ``pages``
    are paths below the document root (``uid/index.html``) written with a line of text, so
    that a request that passes the site's rules gets a 200.
    """
    folder = Path(tempfile.mkdtemp(prefix="mims-apache-"))
    folder.chmod(0o755)  # the children run as www-data
    running = Apache(port=free_port(), folder=folder)
    for page in pages:
        (folder / "www" / page).parent.mkdir(parents=True, exist_ok=True)
        (folder / "www" / page).write_text("signed in\n")
    (folder / "site.conf").write_text(site(folder))
    config = folder / "apache2.conf"
    config.write_text(
        main_config(folder, running.port, BASE_MODULES | modules, folder / "site.conf")
    )
    command = [APACHE, "-d", str(folder), "-f", str(config), "-DFOREGROUND"]
    try:
        # SIGTERM to the parent stops it and, through it, its children.
        with programs.running(
            command,
            folder / "apache2.out",
            ready=lambda: port_in_use(running.port),
            logs=lambda: programs.read_logs(folder / "apache2.out", folder / "error.log"),
        ):
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)
