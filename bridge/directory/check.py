"""What a directory has and lacks for the bridge (``mims directory check``), one finding each.

Everything is asked as the bridge itself, with its configured URLs, account and TLS: what the
service account cannot see or do, the bridge cannot either. cn=config is out of its reach, so
overlays are known by what they do: the root DSE lists their controls, and a few probe groups
under ou=groups (removed again) show that memberof, unique and refint act on this database.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ldap3 import BASE, SUBTREE, Connection

from bridge.core.passwords import Policy
from bridge.directory import controls, dn, mapping, ppolicy, schema_upgrade, slapd_config
from bridge.directory.client import ClientSettings, LdapClient
from bridge.directory.controls import SortKey
from bridge.directory.ldap3_connections import raw_values
from bridge.directory.passwords import policy_attributes
from bridge.errors import AlreadyExists, BridgeError, NotFound

Status = Literal["ok", "missing", "different"]

# The controls the bridge sends, with what provides each (root DSE supportedControl; slapd
# hides permissive modify there, which every slapd has).
CONTROLS = {
    "paged results (RFC 2696)": "1.2.840.113556.1.4.319",
    "server-side sort (sssvlv overlay)": controls.SORT_REQUEST,
    "virtual list view (sssvlv overlay)": controls.VLV_REQUEST,
    "password policy (ppolicy overlay)": ppolicy.OID,
    "dereference (deref overlay)": controls.DEREF,
    "content synchronisation (syncprov overlay)": "1.3.6.1.4.1.4203.1.9.1.1",
    "assertion (RFC 4528)": controls.ASSERTION,
}
# Schema from elsewhere the bridge uses: the system schemas and the overlays' own.
OTHER_CLASSES = (
    "inetOrgPerson",
    "organizationalUnit",
    "pwdPolicy",
    "posixAccount",  # nis.ldif
    "shadowAccount",
)
OTHER_ATTRIBUTES = ("memberOf", "pwdPolicySubentry", "pwdAccountLockedTime", "entryUUID")

_NAMES = re.compile(r"NAME\s+(?:'([^']+)'|\(\s*((?:'[^']+'\s*)+)\))")


@dataclass(frozen=True)
class Finding:
    """One thing the bridge needs: whether it is there, and what was seen."""

    status: Status
    subject: str
    detail: str


def check(settings: ClientSettings, policies: Mapping[str, Policy]) -> Iterator[Finding]:
    """Yield a finding for each thing the bridge needs from the directory, in a fixed order."""
    client = LdapClient(settings)
    try:
        bound = yield from _connection(client)
        if not bound:
            return
        yield from _account(settings)
        root = _read(client, "", ["namingContexts", "supportedControl"]) or {}
        yield from _root_dse(settings.suffix, root)
        yield from _schema(client)
        yield from _entries(client, settings.suffix, policies)
        yield from _shared_uids(client, settings.suffix)
        yield from _ppolicy_answer(client, settings)
        yield from _probes(client, settings)
    finally:
        client.close()


def failed(findings: list[Finding]) -> bool:
    """Return whether anything is missing or different."""
    return any(finding.status != "ok" for finding in findings)


def _connection(client: LdapClient) -> Generator[Finding, None, bool]:
    """Bind as the bridge; return whether that worked (nothing else can be checked without)."""
    settings = client.settings
    try:
        client.connection()
    except BridgeError as error:
        urls = " ".join(settings.urls)
        yield Finding("missing", "connection", f"{settings.bind_dn} at {urls}: {error}")
        return False
    url = client.ldap3.server() or settings.urls[0]
    protection = {"ldaps": "ldaps", "starttls": "StartTLS", "off": "no TLS"}[settings.tls_for(url)]
    if url.lower().startswith("ldapi:"):
        protection = "local socket"
    status: Status = "different" if protection == "no TLS" else "ok"
    yield Finding(status, "connection", f"bound as {settings.bind_dn} at {url} ({protection})")
    return True


def _account(settings: ClientSettings) -> Iterator[Finding]:
    wanted = slapd_config.service_dn(settings.suffix)
    if dn.normalised(settings.bind_dn) != dn.normalised(wanted):
        yield Finding(
            "different",
            "service account",
            f"bind_dn is {settings.bind_dn}, but the access rules give write to {wanted}",
        )


def _root_dse(suffix: str, root: Mapping[str, list[bytes]]) -> Iterator[Finding]:
    contexts = [dn.normalised(value.decode()) for value in root.get("namingcontexts", [])]
    found = dn.normalised(suffix) in contexts
    yield Finding("ok" if found else "missing", "naming context", suffix)
    supported = {value.decode() for value in root.get("supportedcontrol", [])}
    for name, oid in CONTROLS.items():
        yield Finding("ok" if oid in supported else "missing", "control", f"{name} {oid}")


def _schema(client: LdapClient) -> Iterator[Finding]:
    found = _read(client, "cn=Subschema", ["objectClasses", "attributeTypes"]) or {}
    present = {
        kind: _oids_by_name(v.decode() for v in found.get(kind.lower(), []))
        for kind in ("objectClasses", "attributeTypes")
    }
    shipped = schema_upgrade.shipped_definitions()
    problems: list[Finding] = []
    for kind in ("attributeTypes", "objectClasses"):
        wanted = _oids_by_name(shipped["olc" + kind[0].upper() + kind[1:]])
        for name, oid in wanted.items():
            seen = present[kind].get(name.lower())
            if seen is None:
                problems.append(Finding("missing", "schema", f"{name} ({oid})"))
            elif seen != oid:
                problems.append(Finding("different", "schema", f"{name} is {seen}, not {oid}"))
    others = [("objectClasses", n) for n in OTHER_CLASSES]
    others += [("attributeTypes", n) for n in OTHER_ATTRIBUTES]
    for kind, name in others:
        if name.lower() not in present[kind]:
            problems.append(Finding("missing", "schema", name))
    yield from problems
    if not problems:
        count = sum(len(values) for values in shipped.values())
        yield Finding(
            "ok", "schema", f"the {count} definitions of schemas/mims.ldif, and ppolicy's"
        )


def _oids_by_name(definitions: Iterable[str]) -> dict[str, str]:
    """Return each name a schema definition gives (lower case) with the definition's OID."""
    names: dict[str, str] = {}
    for definition in definitions:
        match = _NAMES.search(definition)
        if match is None:
            continue
        listed = match.group(1) or " ".join(re.findall(r"'([^']+)'", match.group(2)))
        for name in listed.split():
            names[name.lower()] = schema_upgrade.oid_of(definition)
    return names


def _entries(client: LdapClient, suffix: str, policies: Mapping[str, Policy]) -> Iterator[Finding]:
    version = slapd_config.schema_version()
    top = _read(client, suffix, ["objectClass", "mimsSchemaVersion"])
    if top is None:
        yield Finding("missing", "entry", suffix)
    else:
        classes = {value.decode().lower() for value in top.get("objectclass", [])}
        stored = b"".join(top.get("mimsschemaversion", [])).decode()
        if slapd_config.DIRECTORY_CLASS.lower() not in classes:
            yield Finding("missing", "entry", f"{suffix} lacks {slapd_config.DIRECTORY_CLASS}")
        elif stored != str(version):
            yield Finding(
                "different", "schema version", f"{suffix} says {stored or 'none'}, not {version}"
            )
        else:
            yield Finding("ok", "schema version", f"{version} on {suffix}")
    for entry, _ in slapd_config.base_entries(suffix, version, "")[1:]:
        yield Finding(
            "ok" if _read(client, entry, ["1.1"]) is not None else "missing", "entry", entry
        )
    for name, policy in sorted(policies.items()):
        entry = dn.policy_dn(name, suffix)
        wanted = policy_attributes(policy)
        stored_policy = _read(client, entry, list(wanted))
        if stored_policy is None:
            yield Finding("missing", "policy", f"{entry} (`mims policy sync` writes it)")
            continue
        differing = [
            key
            for key, values in wanted.items()
            if [v.decode() for v in stored_policy.get(key.lower(), [])] != values
        ]
        status: Status = "different" if differing else "ok"
        detail = f" differs in {', '.join(differing)}" if differing else ""
        yield Finding(status, "policy", f"{entry}{detail}")


def _shared_uids(client: LdapClient, suffix: str) -> Iterator[Finding]:
    """List uids that name two people, each with the `mims user rename` that fixes it.

    Before schema version 7 a uid was unique within a role's OU only, so a student and a
    teacher of one name could share one. The upgrade cannot rename either (it would change a
    login ID under them); the oldest keeps it, the others get the next free suffix.
    """

    def read(connection: Connection) -> list[tuple[str, str, str]]:
        found = connection.extend.standard.paged_search(
            dn.people_base(suffix),
            "(uid=*)",
            SUBTREE,
            attributes=["uid", "mail", "createTimestamp"],
            paged_size=1000,
        )
        people = []
        for item in found:
            if item.get("type") != "searchResEntry":
                continue
            raw = {name.lower(): values for name, values in item["raw_attributes"].items()}
            uid, mail = raw["uid"][0].decode().lower(), (raw.get("mail") or [b""])[0].decode()
            people.append((uid, (raw.get("createtimestamp") or [b""])[0].decode(), mail))
        return people

    people = sorted(client.run(read))
    taken = {uid for uid, _, _ in people}
    by_uid: dict[str, list[str]] = {}
    for uid, _, mail in people:
        by_uid.setdefault(uid, []).append(mail)
    shared = {uid: mails for uid, mails in by_uid.items() if len(mails) > 1}
    for uid, (keeper, *others) in sorted(shared.items()):
        for mail in others:
            n = 1
            while f"{uid}_{n}" in taken:
                n += 1
            taken.add(f"{uid}_{n}")
            domain = mail.rsplit("@", 1)[-1]
            yield Finding(
                "different",
                "uid",
                f"{uid} names {keeper} and {mail} (unique in every role since schema version "
                f"7); give one a new login ID: mims user rename {mail} {uid}_{n}@{domain}",
            )
    if not shared:
        yield Finding("ok", "uid", "every uid names one person")


def _ppolicy_answer(client: LdapClient, settings: ClientSettings) -> Iterator[Finding]:
    result = client.try_bind(settings.bind_dn, settings.password, [ppolicy.REQUEST])
    answered = ppolicy.OID in (result.get("controls") or {})
    yield Finding(
        "ok" if answered else "missing",
        "ppolicy",
        "a bind with the password policy control gets its answer",
    )


def _probes(client: LdapClient, settings: ClientSettings) -> Iterator[Finding]:
    """Add probe groups, see memberof, unique and refint act on them, and remove them."""
    suffix, account = settings.suffix, settings.bind_dn
    tag = secrets.token_hex(4)
    first, second, third = (dn.group_dn(f"mims-check-{tag}-{n}", suffix) for n in (1, 2, 3))
    address = f"mims-check-{tag}@check.invalid"
    added: list[str] = []
    try:
        try:
            _add_group(client, first, [account], address)
            added.append(first)
        except BridgeError as error:
            yield Finding("missing", "write", f"the service account cannot add a group: {error}")
            return
        yield Finding("ok", "write", f"the service account adds entries such as {first}")
        member_of = (_read(client, account, ["memberOf"]) or {}).get("memberof", [])
        joined = dn.normalised(first) in {dn.normalised(v.decode()) for v in member_of}
        yield Finding("ok" if joined else "missing", "memberof", "a group's member gets memberOf")
        try:
            _add_group(client, second, [first], address)
            added.append(second)
            yield Finding("missing", "unique", f"a second entry with mail {address} was accepted")
        except AlreadyExists:
            yield Finding("ok", "unique", "a second entry with the same mail is refused")
        _add_group(client, third, [first, account], None)
        added.append(third)
        yield Finding(*_sorted_search(client, third))
        _delete(client, first)
        added.remove(first)
        members = (_read(client, third, ["member"]) or {}).get("member", [])
        left = dn.normalised(first) not in {dn.normalised(v.decode()) for v in members}
        yield Finding("ok" if left else "missing", "refint", "a deleted entry leaves its groups")
    finally:
        for entry in reversed(added):
            try:
                _delete(client, entry)
            except BridgeError:
                pass  # the finding above already says what is wrong


def _sorted_search(client: LdapClient, entry: str) -> tuple[Status, str, str]:
    request = controls.sort_request([SortKey("cn", "caseIgnoreOrderingMatch")])
    try:
        _run(client, lambda c: c.search(entry, "(objectClass=*)", BASE, controls=[request]))
    except BridgeError as error:
        return "missing", "sort", f"a sorted search is refused on this database: {error}"
    return "ok", "sort", "slapd sorts a search on this database"


def _add_group(client: LdapClient, entry: str, members: list[str], mail: str | None) -> None:
    attributes: dict[str, Any] = {
        "objectClass": mapping.GROUP_CLASSES,
        "cn": [dn.first_value(entry)],
        "member": members,
        "description": ["made and removed by `mims directory check`"],
    }
    if mail is not None:
        attributes["mail"] = [mail]
    client.add(entry, attributes)


def _delete(client: LdapClient, entry: str) -> None:
    client.run(lambda connection: connection.delete(entry), retry=False)


def _run(client: LdapClient, operation: Callable[[Connection], Any]) -> None:
    client.run(operation, retry=False)


def _read(client: LdapClient, entry: str, attributes: list[str]) -> dict[str, list[bytes]] | None:
    """Return an entry's raw attributes (names in lower case), or None when it is not there."""

    def read(connection: Connection) -> dict[str, list[bytes]] | None:
        connection.search(entry, "(objectClass=*)", BASE, attributes=attributes)
        if not connection.response:
            return None
        return raw_values(connection.response)

    try:
        return client.run(read)
    except NotFound:
        return None
