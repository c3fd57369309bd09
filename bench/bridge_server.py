"""`mims serve` as production runs it, against a slapd of the benchmark, and its bearer token.

Production points the bridge at its directory with ``MIMS_LDAP_URL`` (TCP: ldaps, with
``[directory] ca_file``), the service account and a portal secret, and runs ``mims serve``:
gunicorn, gthread workers x threads from the configuration (README). The benchmark does
exactly that on a free port. It changes two settings: the portal's per-client rate limit
(``[sspr] rate_limit``), because every benchmark client comes from 127.0.0.1 and the SSPR
phase measures the work of a reset, not the limiter; and the LDAP password service, off
(``[password_service] port = 0``): no phase measures it, and its fixed port (1637) is taken
whenever another bridge runs on the machine (a second one of the benchmark's, or a test's).
A phase may lay more settings over these (the observability phase: metrics and the log
format).
"""

from __future__ import annotations

import http.client
import secrets
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.memory import ProcessTree
from bench.raw_ldap import Account
from bench.workspace import BenchError, tail
from bridge.config import load_config
from bridge.directory.slapd import free_port

if TYPE_CHECKING:
    from bench.phases.context import Context

OVERLAY = """\
# The benchmark's changes to the defaults (bench/bridge_server.py says why).
[sspr]
rate_limit = "1000000 per minute"
[password_service]
port = 0
"""
READY_S = 60.0


class BridgeServer:
    """Run `mims serve` over a directory the benchmark owns; stop it by its PID."""

    def __init__(
        self, ctx: Context, account: Account, root: Path, settings: str = "", name: str = "bench"
    ) -> None:
        self.ctx = ctx
        self.account = account
        self.root = root
        self.port = 0
        self.token = ""
        self.name = name  # of its token: names are unique in a directory
        self._process: subprocess.Popen[bytes] | None = None
        self._tree: ProcessTree | None = None
        root.mkdir(parents=True, exist_ok=True)
        overlay = root / "bench.toml"
        overlay.write_text(
            OVERLAY
            + (f'[directory]\nca_file = "{account.ca_file}"\n' if account.ca_file else "")
            + settings
        )
        self.env = ctx.bridge_env(root) | {
            "MIMS_CONFIG": str(overlay),
            "MIMS_LDAP_URL": account.url,
            "MIMS_LDAP_BIND_DN": account.bind_dn,
            "MIMS_LDAP_PASSWORD": account.password,
            "MIMS_LDAP_SUFFIX": account.suffix,
            "MIMS_SECRET_KEY": secrets.token_urlsafe(32),
        }
        http = load_config(env=self.env).http
        self.settings: dict[str, Any] = {
            "workers": http.workers,
            "threads": http.threads,
            "worker_class": "asgi",  # as bridge/serve.py runs gunicorn
            "ldap_url": account.url,
            "rate_limit_changed": True,
        }
        if settings:
            self.settings["overlay"] = settings

    # -- what the phases use -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/scim/v2"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.poll() is None else None

    def rss_mb(self) -> float:
        """Return the resident memory of gunicorn's master and workers, in MB."""
        return self._tree.rss_mb() if self._tree else 0.0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Make a token, start `mims serve` on a free port, and wait until it is ready."""
        ws = self.ctx.workspace
        made = subprocess.run(
            self.ctx.mims("token", "create", "--name", self.name),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if made.returncode != 0 or not made.stdout.strip():
            raise BenchError(f"mims token create failed: {made.stderr.strip()[-300:]}")
        self.token = made.stdout.strip()
        for attempt in range(3):
            self.port = free_port()
            log = self.root / "serve.log"
            self._process = ws.spawn(
                self.ctx.mims(
                    "serve", "--port", str(self.port), "--password-port", "0"
                ),  # no password service: its fixed port would meet another run's
                log,
                self.env,
            )
            self._tree = ProcessTree(self._process.pid)
            if self._wait_ready():
                return
            ws.end(self._process)
            if "in use" not in tail(log, 20) or attempt == 2:
                raise BenchError(f"mims serve did not start: {tail(log)}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self._process is not None:
            self.ctx.workspace.end(self._process)
            self._process = None
