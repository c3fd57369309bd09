"""The parents' request desk: the portal hands requests in, administrators work the queue.

``submit`` takes a parent's form and answers nothing back, whatever it names. The queue shows
an administrator the waiting requests of their schools (a form teacher: the ones forwarded to
their classes), oldest first, each with the children in scope it may mean; ``resolve`` resets
the chosen child's password through the administrator's :class:`ScopedConsole` (so the scope
and role rules are the console's own), rejects with a reason, or forwards to the form teacher.
Every step is an audit event: the request (``request.create``), the match
(``request.match``, naming the child) and how it ended (``request.reset``, ``request.reject``,
``request.forward``, ``request.expire``). A request nobody acted on expires after
``[console] request_days``, checked whenever the queue is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bridge.core.admin_console import ScopedConsole
from bridge.core.administration import AllSchools, School, SchoolClass, Scope
from bridge.core.audit import SUCCESS, Event, origin
from bridge.core.people import Person
from bridge.core.ports import Audit
from bridge.core.reset_requests import (
    InvalidRequest,
    Match,
    RequestForm,
    ResetRequest,
    ResetRequests,
    Resolution,
    class_key,
    due_to_expire,
    folded,
    matches,
    oldest_first,
    read_reason,
    search_words,
)
from bridge.errors import BridgeError, InvalidValue, NotFound, PreconditionFailed

Clock = Callable[[], datetime]
Decision = Literal["reset", "reject", "forward"]
DECISIONS: tuple[Decision, ...] = ("reset", "reject", "forward")
NO_SUCH_REQUEST = "no such request"
PARENT = "parent"  # the actor of a request's creation: someone without an account
EXPIRY = "expiry"  # who settles a request nobody acted on
_CANDIDATES = 50  # people read per search for matches


class Settled(PreconditionFailed):
    """The request was settled already (by another administrator, or it expired)."""

    def __init__(self) -> None:
        super().__init__("this request was settled already")


def _now() -> datetime:
    return datetime.now(UTC)


def sees(scopes: frozenset[Scope], request: ResetRequest, login: str = "") -> bool:
    """Return whether grants reach a request: its school's, or its class once forwarded.

    A school's name is compared as ``folded`` (accents, case and punctuation ignored), since a
    parent types it. A form teacher (``login``) sees a request of their class while it is
    forwarded to them, and afterwards only if they settled it themselves: one the office
    settled without forwarding (the parent's contact with it) is not theirs to read.
    """
    for scope in scopes:
        if isinstance(scope, AllSchools):
            return True
        if isinstance(scope, School) and folded(scope.name) == folded(request.school):
            return True
        if (
            isinstance(scope, SchoolClass)
            and _handed_to(request, login)
            and folded(scope.school) == folded(request.school)
            and class_key(scope.class_name) == class_key(request.class_name)
        ):
            return True
    return False


def _handed_to(request: ResetRequest, login: str) -> bool:
    """Return whether a request is with a form teacher now, or was settled by this one."""
    if request.status == "forwarded":
        return True
    settled = request.resolution
    return settled is not None and bool(login) and settled.by.casefold() == login.casefold()


@dataclass(frozen=True)
class Queued:
    """A request as the queue shows it: with the children it may mean."""

    request: ResetRequest
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Outcome:
    """What resolving a request did: the request now, and the child's slip after a reset."""

    request: ResetRequest
    person: Person | None = None
    temporary_password: str | None = None


class RequestDesk:
    """Take parents' requests in; show and settle them for administrators in scope."""

    def __init__(self, store: ResetRequests, audit: Audit, days: int, clock: Clock = _now) -> None:
        self.store = store
        self.audit = audit
        self.days = days
        self.clock = clock

    def submit(self, form: RequestForm) -> None:
        """Keep a parent's request for the school named; say nothing about the child."""
        request = self.store.add(form, self.clock())
        self._record(
            "request.create", request, PARENT, ("child_name", "school", "class", "contact")
        )

    def expire_due(self) -> int:
        """Expire every waiting request older than ``request_days``; return how many."""
        now = self.clock()
        expired = 0
        for request in self.store.waiting():
            if due_to_expire(request, now, self.days):
                try:
                    done = self.store.settle(request, Resolution("expire", EXPIRY, now))
                except (PreconditionFailed, NotFound):
                    continue  # settled meanwhile by someone else
                self._record("request.expire", done, EXPIRY, ("status",))
                expired += 1
        return expired

    def queue(self, console: ScopedConsole) -> list[Queued]:
        """Return the waiting requests in the administrator's scope, oldest first, matched.

        School and MIMS administrators see open requests (and forwarded ones); a form teacher
        sees those forwarded to their classes.
        """
        self.expire_due()
        scopes = console.admin.scopes
        login = console.admin.login_id
        mine = [r for r in self.store.waiting() if sees(scopes, r, login) and self._for(scopes, r)]
        return [Queued(r, tuple(self.candidates(console, r))) for r in oldest_first(mine)]

    def get(self, console: ScopedConsole, request_id: str) -> Queued:
        """Return one request in scope (any status) with its matches; NotFound otherwise."""
        self.expire_due()
        request = self._reach(console, request_id)
        found = self.candidates(console, request) if request.waiting else []
        return Queued(request, tuple(found))

    def candidates(self, console: ScopedConsole, request: ResetRequest) -> list[Match]:
        """Return the children in scope the request may mean: its class's first."""
        _, in_class = console.search(class_name=request.class_name, count=_CANDIDATES)
        _, by_name = console.search(query=search_words(request), count=_CANDIDATES)
        people = {p.id: p for p in [*in_class, *by_name]}
        return matches(request, people.values())

    def resolve(
        self,
        console: ScopedConsole,
        request_id: str,
        action: str,
        person_id: str | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Reset the chosen child's password, reject with a reason, or forward to the teacher.

        The request is settled first (a write that asserts it is still waiting, so two
        administrators cannot both act); a reset that then fails puts it back as it was.
        """
        if action not in DECISIONS:
            raise InvalidRequest("action", 'choose "reset", "reject" or "forward"')
        request = self._reach(console, request_id)
        if not request.waiting:
            raise Settled()
        actor = console.admin.login_id
        person = console.get(person_id) if person_id else None
        if action == "reset" and person is None:
            raise InvalidRequest("personId", "choose the child whose password is reset")
        if action == "forward" and request.status == "forwarded":
            raise InvalidRequest("action", "the request is with the form teacher already")
        why = read_reason(reason) if action == "reject" else _note(reason)
        chosen = person.id if person is not None else ""
        resolution = Resolution(action, actor, self.clock(), chosen, why)
        if person is not None:
            self._record("request.match", request, actor, ("person",), login=str(person.login_id))
        try:
            done = self.store.settle(request, resolution)
        except PreconditionFailed:
            raise Settled() from None
        login = str(person.login_id) if person is not None else ""
        if action != "reset" or person is None:
            self._record(f"request.{action}", done, actor, _fields(resolution), login=login)
            return Outcome(done, person)
        try:
            temporary = console.reset(person.id)
        except BridgeError as error:
            self.store.replace(done, request)  # waiting again, as it was
            self._record("request.reset", done, actor, ("status",), login, type(error).__name__)
            raise
        self._record("request.reset", done, actor, _fields(resolution), login=login)
        return Outcome(done, person, temporary)

    def _reach(self, console: ScopedConsole, request_id: str) -> ResetRequest:
        try:
            request = self.store.get(request_id)
        except (NotFound, InvalidValue):
            raise NotFound(NO_SUCH_REQUEST) from None
        if not sees(console.admin.scopes, request, console.admin.login_id):
            raise NotFound(NO_SUCH_REQUEST)
        return request

    @staticmethod
    def _for(scopes: frozenset[Scope], request: ResetRequest) -> bool:
        """Return whether a waiting request is for these grants to act on now."""
        if any(isinstance(s, AllSchools | School) for s in scopes):
            return True
        return request.status == "forwarded"

    def _record(
        self,
        operation: str,
        request: ResetRequest,
        actor: str,
        attributes: tuple[str, ...],
        login: str = "",
        outcome: str = SUCCESS,
    ) -> None:
        now = origin()
        self.audit.record(
            Event(
                time=self.clock(),
                door=now.door,
                actor=actor,
                source=now.source,
                request_id=now.request_id,
                operation=operation,
                target=f"request:{request.id}",
                login=login,
                attributes=attributes,
                outcome=outcome,
            )
        )


def _note(reason: str | None) -> str:
    return read_reason(reason) if reason and reason.strip() else ""


def _fields(resolution: Resolution) -> tuple[str, ...]:
    names = ["status", "by"]
    if resolution.person_id:
        names.append("person")
    if resolution.reason:
        names.append("reason")
    return tuple(names)
