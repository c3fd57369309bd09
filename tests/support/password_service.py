"""`mims password-service` as a real process over the session's slapd, stopped by its PID.

The service shares the session slapd's data folder, so its certificate is signed by the same
CA as the directory's (``DATA/tls/ca.pem``): one CA file trusts both, as on a school's machines.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bridge.config import Config
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import MIMS
from tests.support.ports import free_port


@dataclass(frozen=True)
class PasswordService:
    """A running `mims password-service`: its URL, the CA to trust, its log."""

    url: str
    ca: Path
    log: Path
    port: int

    def output(self) -> str:
        """Return what the service has printed until now."""
        return self.log.read_text()


@contextmanager
def running_password_service(config: Config, slapd: ManagedSlapd) -> Iterator[PasswordService]:
    """Run the service on a free port for the block; fail if it exits badly or logs a traceback."""
    home = Path(tempfile.mkdtemp(prefix="mims-passwd-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(home),
        "MIMS_DATA_DIR": str(slapd.layout.root),
        "MIMS_LDAP_PORT": str(config.slapd.port),
        "MIMS_LDAPS_PORT": str(config.slapd.ldaps_port),
    }
    log_path = home / "service.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [*MIMS, "password-service", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"ldaps://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while url not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield PasswordService(url, slapd.layout.tls_dir / "ca.pem", log_path, port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        output = log_path.read_text()
        shutil.rmtree(home, ignore_errors=True)
    assert process.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
