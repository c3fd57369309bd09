"""Parents' reset requests: what a parent asks for, how it is matched to a child, how it ends.

A parent who cannot use self-service names the child (full name, school, class) and leaves a
contact. The request waits in the school's queue until an administrator resets the matched
child's password, rejects it with a reason, or forwards it to the form teacher, or until it
is older than ``[console] request_days`` and expires. Nothing here speaks to the parent: the
portal answers every request the same, so a request reveals no child.

Matching ignores accents, case, punctuation and the order of the name's parts
(``anyascii`` then ``casefold``): "Nur Aisyah binte Ahmad" finds "NUR AISYAH BINTE AHMAD",
"Zoë Tan" finds "Zoe Tan", "4A" finds "4 a".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol, get_args

from anyascii import anyascii

from bridge.core.people import Person
from bridge.errors import InvalidValue

Status = Literal["open", "resolved", "rejected", "forwarded", "expired"]
STATUSES: tuple[Status, ...] = get_args(Status)
# What an administrator may do with a request (and what expiry does to it).
Action = Literal["reset", "reject", "forward", "expire"]
ACTIONS: tuple[Action, ...] = get_args(Action)
# The status each action leaves a request in.
OUTCOMES: dict[Action, Status] = {
    "reset": "resolved",
    "reject": "rejected",
    "forward": "forwarded",
    "expire": "expired",
}
# Requests still waiting for someone: an administrator (open) or a form teacher (forwarded).
WAITING: tuple[Status, ...] = ("open", "forwarded")
DEFAULT_DAYS = 14

MAX_NAME = 128
MAX_SCHOOL = 128
MAX_CLASS = 32
MAX_CONTACT = 128
MAX_REASON = 500

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9(][0-9 ()./-]*$")
_MIN_PHONE_DIGITS = 6
_MAX_PHONE_DIGITS = 15  # ITU-T E.164


class InvalidRequest(InvalidValue):
    """A request form with a missing or unusable field; the words say which and why."""

    def __init__(self, field: str, words: str) -> None:
        self.field = field
        self.words = words
        super().__init__(f"{field}: {words}")


@dataclass(frozen=True)
class RequestForm:
    """What a parent sends: the child's full name, school and class, and a contact."""

    child_name: str
    school: str
    class_name: str
    contact: str


@dataclass(frozen=True)
class Resolution:
    """How a request ended (or was passed on): by whom, when, what, and why."""

    action: Action
    by: str  # the administrator's login ID; "expiry" when the request expired
    at: datetime
    person_id: str = ""  # the child chosen (reset), or proposed (forward)
    reason: str = ""


@dataclass(frozen=True)
class ResetRequest:
    """A stored request and, once an administrator acted, how it ended."""

    id: str
    child_name: str
    school: str
    class_name: str
    contact: str
    created: datetime
    status: Status = "open"
    resolution: Resolution | None = None

    @property
    def waiting(self) -> bool:
        """Return whether someone still has to act on the request."""
        return self.status in WAITING

    def expires(self, days: int) -> datetime:
        """Return when the request expires if nobody acts on it."""
        return self.created + timedelta(days=days)

    def settled(self, resolution: Resolution) -> ResetRequest:
        """Return the request after ``resolution``."""
        return replace(self, status=OUTCOMES[resolution.action], resolution=resolution)


def read_form(
    child_name: object, school: object, class_name: object, contact: object
) -> RequestForm:
    """Return the form a parent filled in, tidied; InvalidRequest names the first bad field."""
    return RequestForm(
        child_name=_text("childName", child_name, MAX_NAME, "the child's full name"),
        school=_text("school", school, MAX_SCHOOL, "the school's name"),
        class_name=_text("class", class_name, MAX_CLASS, "the class, like 4A"),
        contact=read_contact(contact),
    )


def read_contact(value: object) -> str:
    """Return a phone number or e-mail address, checked loosely; InvalidRequest otherwise."""
    text = _text("contact", value, MAX_CONTACT, "a phone number or an e-mail address")
    if "@" in text:
        if _EMAIL.match(text):
            return text
        raise InvalidRequest("contact", "that e-mail address looks incomplete")
    digits = sum(ch.isdigit() for ch in text)
    if _PHONE.match(text) and _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS:
        return text
    raise InvalidRequest("contact", "give a phone number (digits) or an e-mail address")


def read_reason(value: object) -> str:
    """Return a rejection's reason (required, at most MAX_REASON characters)."""
    return _text("reason", value, MAX_REASON, "the reason, which the school keeps")


def _text(field: str, value: object, limit: int, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(field, f"please give {what}")
    text = " ".join(value.split())
    if not text:
        raise InvalidRequest(field, f"please give {what}")
    if len(text) > limit:
        raise InvalidRequest(field, f"at most {limit} characters, please")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidRequest(field, "please use letters, digits and punctuation only")
    return text


# -- matching --------------------------------------------------------------------------------


def folded(text: str) -> str:
    """Return text without accents, case or punctuation, its words single-spaced."""
    ascii_text = anyascii(text).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


def name_key(name: str) -> tuple[str, ...]:
    """Return a name's words, folded and sorted: the order of a name's parts varies."""
    return tuple(sorted(folded(name).split()))


def class_key(class_name: str) -> str:
    """Return a class as compared: folded, without spaces ("4 A" is "4a")."""
    return folded(class_name).replace(" ", "")


def same_school(a: str, b: str) -> bool:
    """Return whether two spellings name one school (accents, case, punctuation ignored)."""
    return folded(a) == folded(b)


@dataclass(frozen=True)
class Match:
    """A child the request may mean; ``same_class`` False: the name matches in another class."""

    person: Person
    same_class: bool


def matches(request: ResetRequest, people: Iterable[Person]) -> list[Match]:
    """Return the students of the request's school whose name matches, its class first.

    A person matches when their full or display name has the same words as the request's.
    """
    wanted = name_key(request.child_name)
    found: list[Match] = []
    for person in people:
        if person.role != "student" or not same_school(person.school or "", request.school):
            continue
        names = {name_key(person.full_name), name_key(person.display_name or "")}
        if wanted in names:
            klass = class_key(person.class_name or "") == class_key(request.class_name)
            found.append(Match(person, klass))
    return sorted(found, key=lambda m: (not m.same_class, m.person.full_name, m.person.id))


def search_words(request: ResetRequest) -> str:
    """Return the longest word of the child's name, what a directory search starts from."""
    return max(folded(request.child_name).split(), key=len, default="")


# -- expiry and order ------------------------------------------------------------------------


def due_to_expire(request: ResetRequest, now: datetime, days: int) -> bool:
    """Return whether a waiting request is older than ``days`` at ``now``."""
    return request.waiting and now >= request.expires(days)


def oldest_first(requests: Iterable[ResetRequest]) -> list[ResetRequest]:
    """Return requests in the order the queue shows them: the oldest first."""
    return sorted(requests, key=lambda r: (r.created, r.id))


def of_schools(requests: Iterable[ResetRequest], schools: Sequence[str]) -> list[ResetRequest]:
    """Return the requests that name one of ``schools`` (spellings compared by ``folded``)."""
    keys = {folded(school) for school in schools}
    return [r for r in requests if folded(r.school) in keys]


def of_classes(
    requests: Iterable[ResetRequest], classes: Iterable[tuple[str, str]]
) -> list[ResetRequest]:
    """Return the requests that name one of these (school, class) pairs."""
    keys = {(folded(school), class_key(klass)) for school, klass in classes}
    return [r for r in requests if (folded(r.school), class_key(r.class_name)) in keys]


class ResetRequests(Protocol):
    """Where requests are kept (the directory, readable by the bridge alone)."""

    def add(self, form: RequestForm, created: datetime) -> ResetRequest:
        """Store a new open request; return it with its id."""

    def get(self, request_id: str) -> ResetRequest:
        """Return one request; NotFound if there is none with this id."""

    def waiting(self) -> list[ResetRequest]:
        """Return every open or forwarded request."""

    def settle(self, request: ResetRequest, resolution: Resolution) -> ResetRequest:
        """Record how a waiting request ended; PreconditionFailed if it is no longer waiting."""

    def replace(self, current: ResetRequest, previous: ResetRequest) -> ResetRequest:
        """Put a request back as it was (a reset that failed); PreconditionFailed if it moved."""
