"""What ``/readyz`` and ``mims doctor`` check, each check's verdict in words, with a fix.

Readiness asks the write target for a fresh bind and a base search (not the pooled
connection, which could be bound since before the server stopped taking binds) within
``[directory] operation_timeout``. A sync target is "attached" when its state entry in the
directory is readable, holds a place in the change feed (a runner confirmed changes up to
there) and records no failed attempt since the last success: a web process cannot see the
``mims sync run`` process itself, only what it leaves in the directory. Only the directory
decides readiness: a downstream target that is behind must not take the portal and SCIM out
of the load balancer (docs/operations.md, "Health").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bridge.core.ports import HealthCheck
from bridge.core.sync import TargetStatus
from bridge.errors import BridgeError

Verdict = Literal["ok", "warn", "fail"]
DIRECTORY = "directory"


@dataclass(frozen=True)
class Check:
    """One check's verdict: its name, ok/warn/fail, what was seen and what to do about it."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the check passed (a warning passes)."""
        return self.verdict != "fail"


def directory(
    health: HealthCheck,
    timeout: float,
    name_server: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Check:
    """Check that the write target answers a bind and a base search within ``timeout``.

    ``name_server`` puts its URL in the words (``mims doctor``; not ``/readyz``, which anyone
    may read).
    """
    fix = "start the directory (mims slapd start), or check [directory] urls and the network"
    started = clock()
    try:
        url = health.probe()
    except BridgeError as error:
        words = str(error) if name_server else "the write target does not answer"
        return Check(DIRECTORY, "fail", words, fix)
    took = clock() - started
    where = url if name_server else "the write target"
    if took > timeout:
        return Check(
            DIRECTORY,
            "fail",
            f"{where} took {took:.1f} s, over [directory] operation_timeout ({timeout:g} s)",
            "see the directory's load and disk (mims slapd status, DATA/slapd.log)",
        )
    return Check(DIRECTORY, "ok", f"{where} answered a bind and a search in {took * 1000:.0f} ms")


def sync(name: str, read: Callable[[], TargetStatus]) -> Check:
    """Check that a sync target is attached to the change feed (module docstring)."""
    check = f"sync:{name}"
    status_line = f"see mims sync status --target {name}"
    try:
        status = read()
    except BridgeError:
        return Check(check, "fail", "its state in the directory cannot be read", status_line)
    if status.cookie is None:
        return Check(
            check,
            "fail",
            "not attached: no runner has confirmed a place in the change feed",
            f"run mims sync run --target {name} (its systemd unit)",
        )
    if status.failures:
        return Check(
            check,
            "fail",
            f"{status.failures} failed attempts to reach the target since the last success",
            status_line,
        )
    when = status.last_success.strftime("%Y-%m-%d %H:%M:%SZ") if status.last_success else "-"
    return Check(check, "ok", f"attached to the change feed; last change pushed {when}")


class Readiness:
    """The checks of ``/readyz``: the directory, and each enabled sync target."""

    def __init__(
        self,
        health: HealthCheck,
        timeout: float,
        targets: Mapping[str, Callable[[], TargetStatus]],
    ) -> None:
        self.health = health
        self.timeout = timeout
        self.targets = dict(targets)

    def checks(self, name_server: bool = False) -> list[Check]:
        """Run every check, the directory first."""
        found = [directory(self.health, self.timeout, name_server)]
        return found + [sync(name, read) for name, read in sorted(self.targets.items())]


def ready(checks: list[Check]) -> bool:
    """Return whether a process with these results should take traffic: the directory's."""
    return all(check.ok for check in checks if check.name == DIRECTORY)
