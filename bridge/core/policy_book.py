"""Which password policy applies to whom, and the checks the bridge adds to the directory's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridge.core import passwords
from bridge.core.people import Role
from bridge.errors import PolicyViolation


@dataclass(frozen=True)
class Rule:
    """Give ``policy`` to everyone matching every key this rule names (None matches all)."""

    policy: str
    role: Role | None = None
    school: str | None = None
    level: str | None = None

    def matches(self, role: Role, school: str | None, level: str | None) -> bool:
        """Return whether a person of this role, school and level falls under the rule."""
        return (
            (self.role is None or self.role == role)
            and (self.school is None or (school or "").casefold() == self.school.casefold())
            and (self.level is None or (level or "").casefold() == self.level.casefold())
        )


@dataclass(frozen=True)
class PolicyBook:
    """The configured policies by name, the rules choosing among them, and the fallback."""

    policies: Mapping[str, passwords.Policy]
    rules: Sequence[Rule] = ()
    default: str = "mims"

    def name_for(self, role: Role, school: str | None, level: str | None) -> str:
        """Return the name of the policy for a person: the first matching rule, else the default."""
        for rule in self.rules:
            if rule.matches(role, school, level):
                return rule.policy
        return self.default

    def policy(self, name: str) -> passwords.Policy:
        """Return a policy by name."""
        return self.policies[name]

    def check(
        self, password: str, name: str, owner: passwords.Person | None = None
    ) -> list[passwords.Failure]:
        """Return every rule of the named policy that the password breaks."""
        return passwords.check(password, self.policies[name], owner)

    def require(self, password: str, name: str, owner: passwords.Person | None = None) -> None:
        """Raise PolicyViolation listing every rule of the named policy the password breaks."""
        failures = self.check(password, name, owner)
        if failures:
            raise PolicyViolation([(failure.code, failure.message) for failure in failures])
