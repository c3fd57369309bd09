"""What the core knows of an account's credentials: sign-in results and self-service state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from bridge.core.challenges import SsprAttempts

AccountKey = NewType("AccountKey", str)
"""A handle on one stored account that the store hands out and takes back.

Front doors keep it (in a signed token or a session) and pass it back unread; only the store
knows what it is made of, so reading an account again costs no lookup by login ID.
"""


@dataclass(frozen=True)
class SignIn:
    """What the directory said to a sign-in with the person's password."""

    ok: bool
    locked: bool = False
    must_change: bool = False
    # An administrator's disable (the bind went to the decoy): told apart only for metrics.
    disabled: bool = False


class StaleToken(Exception):
    """The account changed since the token was issued: the token was used or overtaken."""


@dataclass(frozen=True)
class AnswerState:
    """What self-service reset knows about one account: its answers, counters and flags."""

    key: AccountKey
    person_id: str
    stored: tuple[str, ...]
    attempts: SsprAttempts
    must_set_answers: bool
    must_change_password: bool
    version: str
    # An administrator's disable: self-service reset never completes for such an account.
    disabled: bool = False

    @property
    def answers_set(self) -> bool:
        """Return whether answers are stored and not waiting to be chosen again."""
        return bool(self.stored) and not self.must_set_answers
