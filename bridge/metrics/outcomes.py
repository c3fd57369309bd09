"""The core's ``Outcomes`` port as Prometheus counters: outcomes only, never who."""

from __future__ import annotations

from bridge.core.ports import AnswerOutcome, ResetOutcome, SignInOutcome
from bridge.metrics import definitions as m


class CountedOutcomes:
    """Count sign-ins, resets, answer checks, lockouts and unlocks."""

    def sign_in(self, outcome: SignInOutcome) -> None:
        """Count one sign-in by outcome."""
        m.SIGN_INS.labels(outcome).inc()

    def password_reset(self, outcome: ResetOutcome) -> None:
        """Count one reset by outcome."""
        m.PASSWORD_RESETS.labels(outcome).inc()

    def answer_check(self, outcome: AnswerOutcome) -> None:
        """Count one answer check by outcome."""
        m.ANSWER_CHECKS.labels(outcome).inc()

    def lockout(self) -> None:
        """Count one lockout."""
        m.LOCKOUTS.inc()

    def unlock(self) -> None:
        """Count one unlock."""
        m.UNLOCKS.inc()
