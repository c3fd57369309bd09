"""`mims serve` supervises its slapd: a killed slapd comes back, a crash loop is given up on."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.cli import Served, mims, scim_call, serving, wait_for

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def status(url: str) -> int:
    """Return the HTTP status of one GET (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def scim(served: Served, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """Call the served SCIM API with its token; return the JSON body (an error status fails)."""
    answer = scim_call(served, method, path, body)
    assert answer.status < 400, (answer.status, answer.body)
    document: dict[str, Any] = answer.body
    return document


def slapd_pid(served: Served) -> int:
    """Return the managed slapd's PID as `mims slapd status` reports it."""
    done = mims("slapd", "status", env=served.env)
    found = re.search(r"pid (\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    return int(found.group(1))


def wait_for_log(served: Served, text: str, timeout: float) -> str:
    """Poll the serve log until it holds ``text``; return the log."""
    deadline = time.monotonic() + timeout
    while True:
        log = served.log.read_text()
        if text in log or time.monotonic() > deadline:
            return log
        time.sleep(0.2)


def test_a_killed_slapd_is_back_with_nothing_committed_lost() -> None:
    with serving(workers=1) as served:
        made = scim(served, "POST", "/Users", {"schemas": [USER], "name": {"formatted": "Kay Tan"}})
        before = slapd_pid(served)

        os.kill(before, signal.SIGKILL)

        assert status(f"{served.base}/readyz") == 503
        assert wait_for(f"{served.base}/readyz", timeout=5) == 200
        assert scim(served, "GET", f"/Users/{made['id']}")["userName"] == made["userName"]
        assert slapd_pid(served) != before
        log = served.log.read_text()
        assert f"slapd (pid {before}) is gone; restarting it in" in log
        assert "slapd is back (pid" in log


def test_a_slapd_that_keeps_dying_is_reported_and_not_restarted_past_the_limit() -> None:
    with serving(workers=1) as served:
        config_dir = Path(served.env["MIMS_DATA_DIR"]) / "slapd.d"
        away = config_dir.with_name("slapd.d.away")
        config_dir.rename(away)  # every restart now fails: slapd finds no configuration
        try:
            os.kill(slapd_pid(served), signal.SIGKILL)
            log = wait_for_log(served, "not restarted again", timeout=60)
            assert "not restarted again" in log, log[-3000:]
            assert "it failed 6 times within 60 s" in log
            restarts = re.findall(r"restarting it in .* \(restart (\d) of at most 5", log)
            assert restarts == ["1", "2", "3", "4", "5"]
            assert log.count("slapd did not restart: slapd stopped while starting") == 5
            assert "slapd is back" not in log
            assert status(f"{served.base}/readyz") == 503
        finally:
            away.rename(config_dir)
