"""The services every front door works with: one bundle of ports, wired by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.core.ports import (
    Answers,
    Credentials,
    Groups,
    HealthCheck,
    NoOutcomes,
    Outcomes,
    People,
    Tokens,
)


@dataclass(frozen=True)
class Services:
    """People, groups, passwords, challenge answers and tokens, over one directory."""

    people: People
    groups: Groups
    passwords: Credentials
    answers: Answers
    tokens: Tokens
    health: HealthCheck
    outcomes: Outcomes = field(default_factory=NoOutcomes)
