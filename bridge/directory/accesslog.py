"""Writes made over LDAP directly, read from the managed slapd's accesslog (slapo-accesslog).

The bridge's own writes are in its audit file with who asked; here are the others: an
administrator's ``ldapmodify``, a tool with a service account, the rootDN. Each log entry
becomes a core audit event naming the attributes written, never their values. Read as the
rootDN over ldapi (the data folder's owner), the only identity that may read ``cn=accesslog``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.core.audit import SUCCESS, Event
from bridge.directory import dn, slapd_config
from bridge.directory.errors import RESULTS
from bridge.directory.ldap3_connections import root_connection
from bridge.directory.slapd import ManagedSlapd

_TIME = "%Y%m%d%H%M%S"
_ATTRIBUTES = [
    "reqStart",
    "reqType",
    "reqDN",
    "reqEntryUUID",
    "reqAuthzID",
    "reqMod",
    "reqNewRDN",
    "reqResult",
    "reqSession",
]
_PEERCRED = "cn=peercred,cn=external,cn=auth"
# What slapd writes itself with every change: not what the writer changed.
_OPERATIONAL = frozenset(
    name.lower()
    for name in (
        "entryCSN",
        "entryUUID",
        "modifiersName",
        "modifyTimestamp",
        "creatorsName",
        "createTimestamp",
        "structuralObjectClass",
        "contextCSN",
    )
)


def events(server: ManagedSlapd, since: datetime | None = None) -> Iterator[Event]:
    """Yield the logged writes not made by the bridge, oldest first; none if slapd is down."""
    if not server.is_initialised() or server.pid() is None:
        return
    bridge = dn.normalised(server.service_dn)
    query = "(objectClass=auditWriteObject)"
    if since is not None:
        stamp = since.astimezone(UTC).strftime(_TIME) + "Z"
        query = f"(&{query}{dn.at_least('reqStart', stamp)})"
    try:
        with root_connection(server.ldapi_url, raise_exceptions=False) as connection:
            found = connection.extend.standard.paged_search(
                slapd_config.ACCESSLOG_SUFFIX,
                query,
                ldap3.LEVEL,
                attributes=_ATTRIBUTES,
                paged_size=500,
                generator=False,
            )
            entries = [e["attributes"] for e in found if e.get("type") == "searchResEntry"]
            entries = [
                a for a in entries if dn.normalised(_text(a, "reqAuthzID") or "cn=-") != bridge
            ]  # the bridge's own writes: its audit file says who asked for them
            uuids = {_text(a, "reqEntryUUID") for a in entries}
            logins = _logins(connection, server.suffix, uuids)
    except LDAPException:
        return
    for attributes in sorted(entries, key=lambda a: _text(a, "reqStart")):
        yield _event(attributes, _text(attributes, "reqAuthzID"), logins)


def _logins(connection: ldap3.Connection, suffix: str, uuids: set[str]) -> dict[str, str]:
    """Return {entryUUID: login ID (mail)} of the people among these entries still there."""
    found: dict[str, str] = {}
    wanted = sorted(u for u in uuids if u)
    for start in range(0, len(wanted), 100):
        connection.search(
            dn.people_base(suffix),
            dn.any_of("entryUUID", wanted[start : start + 100]),
            ldap3.SUBTREE,
            attributes=["entryUUID", "mail"],
        )
        for entry in connection.response or []:
            values = entry.get("attributes", {})
            if values.get("mail"):
                found[_text(values, "entryUUID")] = _text(values, "mail")
    return found


def _event(attributes: dict[str, Any], authz: str, logins: dict[str, str]) -> Event:
    target_dn = _text(attributes, "reqDN")
    kind = _text(attributes, "reqType")
    mods = [str(m) for m in attributes.get("reqMod") or []]
    written = {m.split(":", 1)[0] for m in mods}
    # The entry's new CSN carries when the write was applied, to the microsecond; reqStart's
    # fraction is only a counter within the second.
    csn = next((m.split(" ", 1)[-1] for m in mods if m.lower().startswith("entrycsn:")), "")
    names = sorted(name for name in written if name.lower() not in _OPERATIONAL)
    if kind == "modrdn":
        names = ["rdn"]
    code = int(_text(attributes, "reqResult") or 0)
    row = RESULTS.get(code)
    uuid = _text(attributes, "reqEntryUUID")
    return Event(
        time=_time(csn.split("#", 1)[0] or _text(attributes, "reqStart")),
        door="ldap",
        actor=actor_name(authz),
        source="ldap",
        request_id=f"conn={_text(attributes, 'reqSession')}",
        operation=f"ldap.{kind}",
        target=uuid,
        login=logins.get(uuid) or (dn.first_value(target_dn) if target_dn else ""),
        attributes=tuple(names),
        outcome=SUCCESS if code == 0 else (row.name if row else str(code)),
    )


def actor_name(authz: str) -> str:
    """Return who wrote, in short: a DN's first value, ``uid N (ldapi)`` for a local rootDN."""
    if not authz:
        return "anonymous"
    if authz.lower().endswith(_PEERCRED):
        uid = re.search(r"uidNumber=(\d+)", authz, re.IGNORECASE)
        return f"uid {uid.group(1) if uid else '?'} over ldapi"
    return dn.first_value(authz)


def _text(attributes: dict[str, Any], name: str) -> str:
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value)


def _time(stamp: str) -> datetime:
    """Return an accesslog generalized time (``20240101120000.000001Z``) as a datetime."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, _TIME).replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))
