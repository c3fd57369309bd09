"""Programs a test starts as its child (apache2, nginx, freeradius, php): run, wait, stop by PID.

Each runs in the foreground with its output in a file of the test's folder, is waited for
until it says it is ready (a port listens, a line is printed, a page is served), and is
stopped by its own PID when the block ends, as the session's slapd is: never by name, since
other test sessions on the machine run the same programs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def running(
    command: Sequence[str],
    output: Path,
    ready: Callable[[], object],
    logs: Callable[[], str] | None = None,
    timeout: float = 30,
    **options: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` with its output in ``output`` until the block ends; wait for ``ready()``.

    A program that exits before it is ready, or is not ready within ``timeout`` seconds, fails
    the test with ``logs()`` (by default its output). ``options`` go to ``subprocess.Popen``.
    """
    show = logs or (lambda: output.read_text(errors="replace")[-4000:])
    with output.open("w") as sink:
        process = subprocess.Popen(
            list(command),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **options,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if process.poll() is not None:
                    raise AssertionError(f"{command[0]} exited:\n{show()}")
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{command[0]} not ready within {timeout:.0f} s:\n{show()}"
                    )
                time.sleep(0.05)
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 30, group: bool = False) -> None:
    """Stop a child by SIGTERM to its PID (``group``: to its process group), then SIGKILL."""
    if process.poll() is not None:
        return

    def send(number: signal.Signals) -> None:
        if group:
            os.killpg(process.pid, number)
        else:
            process.send_signal(number)

    send(signal.SIGTERM)  # apache2 and nginx stop their workers on it, as SSSD its responders
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout)


def read_logs(*paths: Path) -> str:
    """Return what a program wrote to these files so far, those that exist, one after another."""
    return "\n".join(path.read_text() for path in paths if path.exists())
