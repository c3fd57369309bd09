"""The `mims` command as a user runs it: a real process, `mims serve` started and stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

MIMS = [sys.executable, "-m", "bridge.cli"]


# What coverage's subprocess patch passes on to the processes a test starts (`make test`).
COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def mims(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
    measured: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `mims ARGS` with this environment less its MIMS_ variables, plus ``env``.

    ``measured`` False runs it outside coverage: for loading test data in bulk, which other
    tests measure, at full speed.
    """
    unwanted = () if measured else COVERAGE_VARIABLES
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("MIMS_") and k not in unwanted
    } | (env or {})
    return subprocess.run(
        [*MIMS, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def first_line(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[str, int, str]:
    """Run `mims ARGS`, read one line of its output and close the pipe, as `| head -1` does.

    Return that line, the exit status and what it wrote on stderr.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | env
    with subprocess.Popen(
        [*MIMS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        process.stdout.close()
        try:
            errors = process.stderr.read()
            process.wait(timeout)
        finally:
            if process.poll() is None:
                process.kill()
    return line, process.returncode, errors


def wait_for(url: str, timeout: float, ca: Path | None = None) -> int:
    """Poll a URL until it answers or ``timeout`` passes; return its last status (0: no answer).

    ``ca``: the CA certificate an https:// URL's certificate must chain to (it may be made
    while the server starts).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            context = ssl.create_default_context(cafile=str(ca)) if ca else None
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        if time.monotonic() > deadline:
            return status
        time.sleep(0.1)


@dataclass(frozen=True)
class Served:
    """A running `mims serve`: its base URL, a SCIM token it made, its `mims` env and log.

    ``pid``: the `mims serve` process, which is gunicorn's master; its workers are its children.
    """

    base: str
    token: str
    env: dict[str, str]
    log: Path
    pid: int = 0

    def output(self) -> str:
        """Return what `mims serve` has printed (stdout and stderr) until now."""
        return self.log.read_text()


@contextmanager
def serving(
    config_toml: str = "",
    *,
    host: str = "127.0.0.1",
    ca: Path | None = None,
    local_https: bool = False,
    workers: int | None = None,
) -> Iterator[Served]:
    """Run `mims serve` (its own slapd, free ports) with this config; stop it, exit 0 asserted.

    ``host``: the address it listens on (it is reached at 127.0.0.1). ``ca``: it serves HTTPS
    (the config names the certificate) that chains to this CA. ``local_https``: it runs with
    ``--https``, its certificate from the data folder's CA (``DATA/tls/ca.pem``). ``workers``:
    gunicorn's workers (MIMS_HTTP_WORKERS; default: the config's): 1 where the behaviour does
    not depend on how many, since each worker costs a second or two of CPU to boot.
    """
    # The system's temp folder: pytest's paths are too long for slapd's ldapi socket.
    home = Path(tempfile.mkdtemp(prefix="mims-serve-"))
    if local_https:
        ca = home / "d" / "tls" / "ca.pem"
    (home / "mims.toml").write_text(config_toml)
    http_port = free_port()
    env = {
        "HOME": str(home),
        "MIMS_CONFIG": str(home / "mims.toml"),
        "MIMS_DATA_DIR": str(home / "d"),
        "MIMS_LDAP_PORT": str(free_port()),
        "MIMS_LDAPS_PORT": str(free_port()),
        "MIMS_PASSWORD_PORT": str(free_port()),
    } | ({"MIMS_HTTP_WORKERS": str(workers)} if workers else {})
    log = (home / "serve.log").open("w")  # a file, not a pipe: a full pipe would stall it
    process = subprocess.Popen(
        [*MIMS, "serve", "--port", str(http_port), "--host", host]
        + (["--https"] if local_https else []),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | env,
    )
    try:
        base = f"{'https' if ca else 'http'}://127.0.0.1:{http_port}"
        assert wait_for(f"{base}/readyz", timeout=30, ca=ca) == 200, (
            home / "serve.log"
        ).read_text()
        made = mims("token", "create", "--name", "tests", env=env)
        assert made.returncode == 0, made.stderr
        yield Served(base, made.stdout.strip(), env, home / "serve.log", process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        output = (home / "serve.log").read_text()
        shutil.rmtree(home, ignore_errors=True)
    assert process.returncode == 0, output[-3000:]


@dataclass(frozen=True)
class ScimAnswer:
    """What a served bridge answered a SCIM request: status, request id and JSON body."""

    status: int
    request_id: str
    body: Any


def scim_call(served: Served, method: str, path: str, body: object = None) -> ScimAnswer:
    """Send a SCIM request to a served bridge with its token; an error status is an answer too."""
    request = urllib.request.Request(
        f"{served.base}/scim/v2/{path.lstrip('/')}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {served.token}",
            "Content-Type": "application/scim+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return ScimAnswer(response.status, response.headers["X-Request-Id"], _json(raw))
    except urllib.error.HTTPError as error:
        with error:
            return ScimAnswer(error.code, error.headers["X-Request-Id"], _json(error.read()))


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None
