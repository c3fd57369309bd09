"""SSSD for the consumer tests: the published sssd.conf, the daemon started and stopped by PID.

SSSD keeps its sockets (/var/lib/sss/pipes), cache (/var/lib/sss/db) and pid file
(/var/run/sssd.pid) at paths fixed when it was built, so one runs per machine: a lock file
keeps two test sessions from starting one each, and every SSSD here starts on an empty cache.
`getent -s sss` asks SSSD alone, so /etc/nsswitch.conf need not name it; pamtester signs in
through a PAM service of the test's own (PAM_SERVICE) that uses pam_sss alone.
"""

from __future__ import annotations

import configparser
import fcntl
import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import programs
from tests.support.consumers import for_site, published_files

CACHE = Path("/var/lib/sss/db")
MEMORY_CACHE = Path("/var/lib/sss/mc")
PID_FILE = Path("/var/run/sssd.pid")
LOCK = Path("/run/lock/mims-sssd-test.lock")
PAM_SERVICE = "mims-sssd-test"
PAM_FILE = Path("/etc/pam.d") / PAM_SERVICE
# The service account docs/consumers/sssd.md names (`mims service create sssd --role sso`).
EXAMPLE_ACCOUNT_DN = "cn=sssd,ou=services,dc=mims,dc=example"

PROGRAMS = ("sssd", "pamtester", "getent", "setpriv")

# Only in tests: NSS answers come from SSSD each time, not from its shared-memory cache, so a
# lookup shows what the responder returns now.
TEST_SETTINGS = {"nss": {"memcache_timeout": "0"}}


def missing_programs() -> list[str]:
    """Return the programs these tests need that this machine does not have."""
    return [name for name in PROGRAMS if shutil.which(name) is None]


def sssd_conf(values: dict[str, str]) -> str:
    """Return docs/consumers/sssd.md's sssd.conf for this site, with the test-only settings."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(for_site(published_files("sssd")["sssd.conf"], values))
    for section, settings in TEST_SETTINGS.items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in settings.items():
            parser[section][key] = value
    text = io.StringIO()
    parser.write(text)
    return text.getvalue()


@dataclass(frozen=True)
class Answer:
    """What a program said: its exit status and its output."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Return stdout and stderr together, as a person at a terminal sees them."""
        return self.stdout + self.stderr


class Sssd:
    """One SSSD started with ``sssd -i`` in a session of its own, stopped by its PID.

    Its log (``sssd.log`` beside the configuration) ends a failing test's message; set
    SSSD_DEBUG (e.g. 0x3ff0) for more of it.
    """

    def __init__(self, conf: str, folder: Path) -> None:
        self.conf_file = folder / "sssd.conf"
        self.log_file = folder / "sssd.log"
        self.conf = conf
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Write the configuration (0600, as SSSD demands) and start SSSD on an empty cache."""
        if PID_FILE.exists() and _alive(_read_pid(PID_FILE)):
            raise RuntimeError(f"another SSSD runs on this machine ({PID_FILE}); stop it first")
        _empty_cache()
        descriptor = os.open(self.conf_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self.conf)
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    "sssd",
                    "-i",
                    "-c",
                    str(self.conf_file),
                    "--logger=stderr",
                    "-d",
                    os.environ.get("SSSD_DEBUG", "0x0070"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # setsid: its own process group, stopped as one
            )

    def wait_until_serving(self, name: str, timeout: float = 60.0) -> None:
        """Wait until SSSD answers for ``name`` from the directory, or fail with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"sssd exited before it served:\n{self.log()}")
            if getent("passwd", name).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"sssd did not answer for {name} within {timeout:.0f} s:\n{self.log()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop SSSD and its responders by their process group, then empty the cache."""
        if self.process is not None:
            programs.stop(self.process, timeout, group=True)
        _empty_cache()

    def log(self) -> str:
        """Return the end of SSSD's log, for a failing test's message."""
        return self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""


@contextmanager
def running_sssd(conf: str, folder: Path, ready_for: str) -> Iterator[Sssd]:
    """Run SSSD on ``conf`` until the block ends, once ``ready_for`` is visible through it."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one SSSD per machine: wait for another session's
        sssd = Sssd(conf, folder)
        try:
            sssd.start()
            sssd.wait_until_serving(ready_for)
            yield sssd
        finally:
            sssd.stop()


@contextmanager
def pam_service() -> Iterator[str]:
    """Install PAM_SERVICE (pam_sss for every stage) for the block; yield its name."""
    PAM_FILE.write_text(
        "# mims-bridge's SSSD test (tests/support/sssd.py); removed when the test ends.\n"
        "auth     required pam_sss.so\n"
        "account  required pam_sss.so\n"
        "password required pam_sss.so\n"
        "session  required pam_permit.so\n"
    )
    try:
        yield PAM_SERVICE
    finally:
        PAM_FILE.unlink(missing_ok=True)


def getent(database: str, name: str) -> Answer:
    """Look ``name`` up in ``database`` (passwd, group) through SSSD alone."""
    return _run(["getent", "-s", "sss", database, name])


def pamtester(user: str, *operations: str, answers: tuple[str, ...] = (), uid: int = 0) -> Answer:
    """Run PAM_SERVICE's ``operations`` for ``user``, typing ``answers`` at its prompts.

    ``uid`` other than 0 runs pamtester as that user, as a person runs ``passwd``: pam_sss asks
    root for no current password, and SSSD cannot change a directory password without it.
    """
    command = ["pamtester", "-v", PAM_SERVICE, user, *operations]
    if uid:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]
    return _run(command, "".join(f"{answer}\n" for answer in answers))


def passwd(uid: int, answers: tuple[str, ...]) -> Answer:
    """Run the real `passwd` as the user ``uid``, through the machine's own PAM stack.

    Debian's /etc/pam.d/passwd includes common-password, where libpam-sss's pam-auth-update
    puts pam_sss after pam_pwquality and pam_unix.
    """
    command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "passwd"]
    return _run(command, "".join(f"{answer}\n" for answer in answers))


def machine_changes_passwords_through_sssd() -> bool:
    """Return whether this machine has `passwd` and its PAM stack reaches pam_sss."""
    common = Path("/etc/pam.d/common-password")
    found = shutil.which("passwd") is not None and common.exists()
    return found and "pam_sss.so" in common.read_text()


def _run(command: list[str], given: str = "") -> Answer:
    done = subprocess.run(command, input=given, capture_output=True, text=True, timeout=60)
    return Answer(done.returncode, done.stdout, done.stderr)


def _empty_cache() -> None:
    for folder in (CACHE, MEMORY_CACHE):
        for path in folder.glob("*"):
            if path.is_file():
                path.unlink()


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
