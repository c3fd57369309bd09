"""The ``Grants`` port with an audit trail: who gave or took which administrator grant."""

from __future__ import annotations

from collections.abc import Iterable

from bridge.core.administration import Administrator, Scope, scope_label
from bridge.core.audited import Trail
from bridge.core.naming import LoginId
from bridge.core.ports import Grants


class AuditedGrants:
    """``Grants`` whose changes are recorded, one event per grant or revoke, by scope label."""

    def __init__(self, inner: Grants, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def grant(self, login_id: LoginId, scopes: Iterable[Scope]) -> Administrator:
        """Add grants to a person, recorded (``admin.grant``, the scopes as attributes)."""
        wanted = list(scopes)
        with self.trail.change("admin.grant", "", [scope_label(s) for s in wanted]) as pending:
            pending.login = str(login_id)
            held = self.inner.grant(login_id, wanted)
            pending.target = held.person.id
        return held

    def revoke(self, login_id: LoginId, scopes: Iterable[Scope] | None = None) -> Administrator:
        """Take grants away (None: every one), recorded (``admin.revoke``)."""
        wanted = None if scopes is None else list(scopes)
        labels = ["every grant"] if wanted is None else [scope_label(s) for s in wanted]
        with self.trail.change("admin.revoke", "", labels) as pending:
            pending.login = str(login_id)
            held = self.inner.revoke(login_id, wanted)
            pending.target = held.person.id
        return held

    def list(self) -> list[Administrator]:
        """Return every person holding a grant."""
        return self.inner.list()

    def of(self, login_id: LoginId) -> frozenset[Scope]:
        """Return the grants a person holds."""
        return self.inner.of(login_id)
