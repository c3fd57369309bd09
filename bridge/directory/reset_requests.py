"""Parents' reset requests in the directory: ``mimsResetRequest`` entries under ou=requests.

The OU sits inside ou=services, and an access rule of its own lets only the bridge's account
read or write it (``slapd_config.access_rules``): a request carries a parent's contact.
Requests are few (they expire after ``[console] request_days``), so the queue reads every
waiting one and the core sorts and scopes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, LEVEL, MODIFY_REPLACE, Connection

from bridge.core.reset_requests import (
    ACTIONS,
    STATUSES,
    RequestForm,
    ResetRequest,
    Resolution,
)
from bridge.directory import controls, dn
from bridge.directory.client import LdapClient
from bridge.errors import NotFound

CLASS = "mimsResetRequest"
READ = [
    "cn",
    "mimsRequestChildName",
    "o",
    "ou",
    "mimsRequestContact",
    "mimsRequestStatus",
    "mimsRequestCreated",
    "mimsRequestAction",
    "mimsRequestBy",
    "mimsRequestSettled",
    "mimsRequestPerson",
    "mimsRequestReason",
]
_SETTLED = (
    "mimsRequestAction",
    "mimsRequestBy",
    "mimsRequestSettled",
    "mimsRequestPerson",
    "mimsRequestReason",
)
_ID_BYTES = 12  # 96 random bits: a request id is not guessable


class ResetRequestStore:
    """Keep, read and settle parents' requests (the core's ``ResetRequests`` port)."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def add(self, form: RequestForm, created: datetime) -> ResetRequest:
        """Store a new open request under a random id; return it."""
        request = ResetRequest(
            id=secrets.token_hex(_ID_BYTES),
            child_name=form.child_name,
            school=form.school,
            class_name=form.class_name,
            contact=form.contact,
            created=created.astimezone(UTC),
        )
        attributes: dict[str, list[str]] = {
            "objectClass": ["top", CLASS],
            "cn": [request.id],
            "mimsRequestChildName": [request.child_name],
            "o": [request.school],
            "ou": [request.class_name],
            "mimsRequestContact": [request.contact],
            "mimsRequestStatus": [request.status],
            "mimsRequestCreated": [_time(request.created)],
        }
        self.directory.add(dn.request_dn(request.id, self.suffix), attributes)
        return request

    def get(self, request_id: str) -> ResetRequest:
        """Return one request; NotFound if there is none with this id."""
        if not request_id or not all(ch in "0123456789abcdef" for ch in request_id):
            raise NotFound("there is no such request")

        def read(connection: Connection) -> list[dict[str, Any]]:
            entry = dn.request_dn(request_id, self.suffix)
            connection.search(entry, f"(objectClass={CLASS})", BASE, attributes=READ)
            return list(connection.response or [])

        found = [e for e in self.directory.run(read) if e.get("type") == "searchResEntry"]
        if not found:
            raise NotFound("there is no such request")
        return to_request(found[0]["raw_attributes"])

    def waiting(self) -> list[ResetRequest]:
        """Return every open or forwarded request."""
        wanted = "".join(dn.equals("mimsRequestStatus", s) for s in ("open", "forwarded"))

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                dn.requests_base(self.suffix),
                f"(&(objectClass={CLASS})(|{wanted}))",
                LEVEL,
                attributes=READ,
            )
            return list(connection.response or [])

        entries = self.directory.run(read)
        return [
            to_request(e["raw_attributes"]) for e in entries if e.get("type") == "searchResEntry"
        ]

    def settle(self, request: ResetRequest, resolution: Resolution) -> ResetRequest:
        """Record how a waiting request ended, only if its status is still the one read.

        The write asserts the status (RFC 4528), so two administrators acting at once cannot
        both settle it: the second gets PreconditionFailed.
        """
        return self.replace(request, request.settled(resolution))

    def replace(self, current: ResetRequest, new: ResetRequest) -> ResetRequest:
        """Write ``new``'s status and resolution over ``current``, asserting its status."""
        settled = new.resolution
        values: dict[str, list[str]] = {"mimsRequestStatus": [new.status]}
        values |= {name: [] for name in _SETTLED}
        if settled is not None:
            values |= {
                "mimsRequestAction": [settled.action],
                "mimsRequestBy": [settled.by],
                "mimsRequestSettled": [_time(settled.at)],
                "mimsRequestPerson": [settled.person_id] if settled.person_id else [],
                "mimsRequestReason": [settled.reason] if settled.reason else [],
            }
        changes = {name: [(MODIFY_REPLACE, given)] for name, given in values.items()}
        asserted = [controls.assertion(dn.equals("mimsRequestStatus", current.status))]
        entry = dn.request_dn(current.id, self.suffix)
        self.directory.run(lambda c: c.modify(entry, changes, controls=asserted), retry=False)
        return new


def to_request(raw: Mapping[str, Sequence[bytes]]) -> ResetRequest:
    """Return the request an entry's raw attributes hold."""
    values = {name.lower(): [v.decode() for v in vs] for name, vs in raw.items()}

    def one(name: str) -> str:
        found = values.get(name.lower()) or [""]
        return found[0]

    status = one("mimsRequestStatus").lower()
    action = one("mimsRequestAction").lower()
    resolution = None
    if action in ACTIONS:
        resolution = Resolution(
            action=action,
            by=one("mimsRequestBy"),
            at=_parse(one("mimsRequestSettled")),
            person_id=one("mimsRequestPerson"),
            reason=one("mimsRequestReason"),
        )
    return ResetRequest(
        id=one("cn"),
        child_name=one("mimsRequestChildName"),
        school=one("o"),
        class_name=one("ou"),
        contact=one("mimsRequestContact"),
        created=_parse(one("mimsRequestCreated")),
        status=status if status in STATUSES else "open",
        resolution=resolution,
    )


def _time(moment: datetime) -> str:
    """Return a GeneralizedTime with microseconds, so the queue's order survives the store."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S.%fZ")


def _parse(text: str) -> datetime:
    if not text:
        return datetime.fromtimestamp(0, UTC)
    whole, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    if fraction:
        moment = moment.replace(microsecond=int(fraction.ljust(6, "0")[:6]))
    return moment
