"""The `mims` command as a user runs it: a real process, and a wait for a server it starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

MIMS = [sys.executable, "-m", "bridge.cli"]


def mims(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `mims ARGS` with this environment less its MIMS_ variables, plus ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | (env or {})
    return subprocess.run(
        [*MIMS, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def wait_for(url: str, timeout: float) -> int:
    """Poll a URL until it answers or ``timeout`` passes; return its last status (0: no answer)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        if time.monotonic() > deadline:
            return status
        time.sleep(0.1)
