"""Upgrade a managed data folder made with an older schema version, in place, over ldapi.

Steps are each safe to repeat, and the version is recorded last (on the suffix entry, then in
the folder's marker file), so a failure midway leaves the old version and the next start
simply runs the upgrade again. Schema elements are only ever added, or retired in place
(marked OBSOLETE, their OID kept): cn=config cannot drop an attribute type that entries may
still use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.core import posix_group_name
from bridge.core.people import PersonFields
from bridge.core.posix import DEFAULT_RULES, PosixRules
from bridge.directory import dn, id_numbers, ldif, mapping, slapd_config
from bridge.directory.ldap3_connections import root_connection
from bridge.errors import BridgeError, SlapdError

# The oldest version this code knows how to bring forward.
OLDEST_UPGRADABLE = 1

_OID = re.compile(r"^\s*(?:\{\d+\})?\(\s*([0-9.]+)")
_SCHEMA_ATTRIBUTES = ("olcAttributeTypes", "olcObjectClasses")
# Auxiliary classes every person carries since they were added (versions 3 and 4).
PERSON_CLASSES_ADDED = ("mimsScimPerson", "mimsScimRemovals")
# Version 11: each downstream target's entry carries the sync lease (one sync process each).
SYNC_TARGET_CLASS = "mimsSyncTarget"
SYNC_LEASE_CLASS = "mimsSyncLease"
# What groups were before version 7: groupOfNames, with an empty DN as the member of an empty
# group, and an address on an auxiliary class (version 2) that mimsGroup no longer needs.
OLD_GROUP_CLASSES = ("groupOfNames", "mimsGroupAddress")
OLD_EMPTY_MEMBER = ""
# draft-zeilenga-ldap-relax: slapd changes an entry's structural class only under it, and only
# for an identity with manage rights (the rootDN here).
RELAX_RULES = ("1.3.6.1.4.1.4203.666.5.12", True, None)
# Groups that still hold the empty DN as a member (RFC 4515 allows the empty assertion).
_EMPTY_MEMBER = "(member=)"
# What makes a syncrepl delta-syncrepl (its source the peer's accesslog): dropped since
# delta-syncrepl lost adds (docs/high-availability.md).
_DELTA_SETTINGS = re.compile(r'\s+(?:logbase|logfilter|syncdata)=(?:"[^"]*"|\S+)', re.IGNORECASE)


def shipped_definitions(
    schema: Traversable | Path = slapd_config.PROJECT_SCHEMA,
) -> dict[str, list[str]]:
    """Return the olcAttributeTypes and olcObjectClasses values of the shipped schema file."""
    found: dict[str, list[str]] = {name: [] for name in _SCHEMA_ATTRIBUTES}
    unfolded = re.sub(r"\n ", "", schema.read_text())  # RFC 2849 continuation lines
    for line in unfolded.splitlines():
        name, _, value = line.partition(": ")
        if name in found:
            found[name].append(" ".join(value.split()))
    return found


def oid_of(definition: str) -> str:
    """Return the OID a schema definition starts with (after cn=config's ``{N}`` prefix)."""
    match = _OID.match(definition)
    if match is None:
        raise SlapdError(f"cannot read the OID of a schema definition: {definition[:60]}")
    return match.group(1)


def upgrade(
    ldapi_url: str,
    suffix: str,
    wanted: int,
    accesslog: list[ldif.Entry],
    posix: PosixRules = DEFAULT_RULES,
    *,
    config_only: bool = False,
) -> None:
    """Bring the running directory at ``ldapi_url`` to schema version ``wanted``, as rootDN.

    ``accesslog`` is the folder's accesslog database (``slapd_config.accesslog_database``),
    added before the overlay that writes into it; ``posix``, what people who are not yet Unix
    accounts get (version 7). ``config_only`` changes cn=config alone, not the entries: for a
    server whose entries come by replication. A read-only consumer's entries are never
    changed here: its provider's changes reach it.
    """
    try:
        with root_connection(ldapi_url) as connection:
            try:
                _upgrade(connection, suffix, wanted, accesslog, posix, config_only=config_only)
            except (LDAPException, BridgeError) as exc:
                raise SlapdError(f"upgrading to schema version {wanted} failed: {exc}") from None
    except LDAPException as exc:  # only the connection's: the steps' own are worded above
        raise SlapdError(f"cannot reach the directory to upgrade it: {exc}") from None


def _upgrade(
    connection: ldap3.Connection,
    suffix: str,
    wanted: int,
    accesslog: list[ldif.Entry],
    posix: PosixRules,
    *,
    config_only: bool,
) -> None:
    """Run every step, each safe to repeat, and record the version last."""
    entries = not config_only and not _is_consumer(connection, suffix)
    _add_system_schemas(connection)
    _retire_obsolete_definitions(connection)
    _add_schema_definitions(connection)
    _load_missing_modules(connection)
    _add_accesslog_database(connection, accesslog)
    _add_monitor_database(connection, suffix)
    _write_through_map(connection, suffix)
    _add_missing_overlays(connection, suffix)
    _set_substring_key_length(connection, suffix)
    _add_missing_indexes(connection, suffix)
    _set_unique_rules(connection, suffix)
    if entries:
        _upgrade_entries(connection, suffix, posix)
    _set_member_of_group_class(connection, suffix)
    if entries:
        _give_hand_made_accounts_a_role(connection, suffix)
    _set_access_rules(connection, suffix)
    _set_limits(connection, suffix)
    _use_plain_syncrepl(connection, suffix)
    if entries:
        _refuse_own_changes_in_the_default_policy(connection, suffix)
        version = {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, [str(wanted)])]}
        connection.modify(suffix, version)


def _upgrade_entries(connection: ldap3.Connection, suffix: str, posix: PosixRules) -> None:
    """Bring the entries to this version: new OUs, classes, numbers, role groups, groups."""
    _add_missing(connection, [slapd_config.sync_ou(suffix), slapd_config.requests_ou(suffix)])
    _add_person_classes(connection, suffix)
    _add_lease_class(connection, suffix)
    _add_id_counter(connection, suffix, posix)
    _make_people_posix_accounts(connection, suffix, posix)
    _place_people(connection, suffix)
    _add_missing(connection, slapd_config.service_roles(suffix))
    _add_missing(connection, slapd_config.admin_grants(suffix))
    _make_role_groups_mims_groups(connection, suffix)
    _make_groups_mims_groups(connection, suffix, posix)


def _is_consumer(connection: ldap3.Connection, suffix: str) -> bool:
    """Return whether the people's database is a read-only copy (a syncrepl, no multi-provider)."""
    attributes = ["olcSyncrepl", "olcMultiProvider"]
    connection.search(
        _database(connection, suffix), "(objectClass=*)", ldap3.BASE, attributes=attributes
    )
    found = connection.response[0]["raw_attributes"] if connection.response else {}
    return bool(found.get("olcSyncrepl")) and found.get("olcMultiProvider") != [b"TRUE"]


def _mims_schema(connection: ldap3.Connection) -> ldap3.Entry:
    """Return the directory's mims schema entry in cn=config, with its definitions."""
    connection.search(
        "cn=schema,cn=config",
        "(cn=*mims)",
        ldap3.LEVEL,
        attributes=list(_SCHEMA_ATTRIBUTES),
    )
    if len(connection.entries) != 1:
        raise SlapdError("the directory holds no mims schema entry to upgrade")
    return connection.entries[0]


def _retire_obsolete_definitions(connection: ldap3.Connection) -> None:
    """Replace each definition the shipped schema retires (OBSOLETE) where it is still live.

    Version 7 retires the auxiliary class mimsGroup (OID .2.4) as mimsGroupAuxiliary, so that
    its name can pass to the structural class groups are now (a new OID). cn=config replaces
    a value by a delete and an add in one modify; entries that name the class keep the name.
    """
    entry = _mims_schema(connection)
    changes: dict[str, list[tuple[str, list[str]]]] = {}
    for name, definitions in shipped_definitions().items():
        stored = {oid_of(value): value for value in entry[name].values}
        for definition in definitions:
            old = stored.get(oid_of(definition))
            if " OBSOLETE " in definition and old is not None and " OBSOLETE " not in old:
                steps = changes.setdefault(name, [])
                steps += [(ldap3.MODIFY_DELETE, [old]), (ldap3.MODIFY_ADD, [definition])]
    if changes:
        connection.modify(entry.entry_dn, dict(sorted(changes.items())))


def _add_schema_definitions(connection: ldap3.Connection) -> None:
    """Add the shipped attribute types and classes the directory's mims schema lacks."""
    entry = _mims_schema(connection)
    changes: dict[str, list[tuple[str, list[str]]]] = {}
    for name, definitions in shipped_definitions().items():
        present = {oid_of(value) for value in entry[name].values}
        missing = [value for value in definitions if oid_of(value) not in present]
        if missing:
            changes[name] = [(ldap3.MODIFY_ADD, missing)]
    if changes:
        # Attribute types before the classes that use them: one modify applies them in order.
        connection.modify(entry.entry_dn, dict(sorted(changes.items())))


def _add_system_schemas(connection: ldap3.Connection) -> None:
    """Load the system schemas this version loads at init (version 7: nis, for posixAccount)."""
    connection.search(
        "cn=schema,cn=config", "(objectClass=olcSchemaConfig)", ldap3.LEVEL, attributes=["cn"]
    )
    present = {str(entry.cn.value).split("}", 1)[-1] for entry in connection.entries}
    for name in slapd_config.SYSTEM_SCHEMAS:
        if name in present:
            continue
        definitions = shipped_definitions(slapd_config.SYSTEM_SCHEMA_DIR / f"{name}.ldif")
        values: dict[str, Any] = {"objectClass": ["olcSchemaConfig"], "cn": [name]}
        values |= {kind: found for kind, found in definitions.items() if found}
        # cn=config numbers it ({4}nis after the four loaded at init before version 7).
        connection.add(f"cn={name},cn=schema,cn=config", attributes=values)


def _load_missing_modules(connection: ldap3.Connection) -> None:
    """Load the modules this version loads at init (deref, accesslog with its schema)."""
    connection.search("cn=config", "(objectClass=olcModuleList)", attributes=["olcModuleLoad"])
    modules = connection.entries[0]
    # A value is "{n}file.la" and the module's arguments, if any.
    loaded = {value.split("}", 1)[-1].split()[0] for value in modules.olcModuleLoad.values}
    wanted = [
        slapd_config.module_load(name)
        for name in slapd_config.MODULES
        if f"{name}.la" not in loaded
    ]
    if wanted:
        connection.modify(modules.entry_dn, {"olcModuleLoad": [(ldap3.MODIFY_ADD, wanted)]})


def _add_missing_overlays(connection: ldap3.Connection, suffix: str) -> None:
    """Add the overlays this version configures at init (e.g. deref, accesslog)."""
    database = _database(connection, suffix)
    connection.search(database, "(objectClass=olcOverlayConfig)", attributes=["olcOverlay"])
    present = {str(entry.olcOverlay.value).split("}", 1)[-1] for entry in connection.entries}
    for name, attributes in slapd_config.overlays(suffix):
        if name in present:
            continue
        values: dict[str, list[str | bytes]] = {"olcOverlay": [name]}
        for attribute, value in attributes:
            values.setdefault(attribute, []).append(value)
        connection.add(f"olcOverlay={name},{database}", attributes=values)


def _database(connection: ldap3.Connection, suffix: str) -> str:
    """Return the DN of the people's database in cn=config (not the accesslog's)."""
    connection.search("cn=config", dn.equals("olcSuffix", suffix), attributes=["1.1"])
    return str(connection.entries[0].entry_dn)


def _add_accesslog_database(connection: ldap3.Connection, entries: list[ldif.Entry]) -> None:
    """Add the accesslog database and its overlays (version 6), unless it is there."""
    connection.search(
        "cn=config", dn.equals("olcSuffix", slapd_config.ACCESSLOG_SUFFIX), attributes=["1.1"]
    )
    if connection.entries:
        return
    database, *overlays = entries
    _add(connection, re.sub(r"=\{\d+\}", "=", database[0], count=1), database[1])
    # cn=config numbers a new database itself (after a monitor database, say): its overlays go
    # under the number it was given.
    connection.search(
        "cn=config", dn.equals("olcSuffix", slapd_config.ACCESSLOG_SUFFIX), attributes=["1.1"]
    )
    given = str(connection.entries[0].entry_dn)
    for entry_dn, attributes in overlays:
        _add(connection, entry_dn.replace(database[0], given), attributes)


def _add(
    connection: ldap3.Connection, entry_dn: str, attributes: Sequence[tuple[str, Any]]
) -> None:
    values: dict[str, list[Any]] = {}
    for name, value in attributes:
        values.setdefault(name, []).append(value)
    connection.add(entry_dn, attributes=values)


def _add_monitor_database(connection: ldap3.Connection, suffix: str) -> None:
    """Add slapd's monitor backend (version 12), unless a monitor database is there."""
    # olcDatabase has no substring rule: read the databases' names and look.
    connection.search(
        "cn=config", "(objectClass=olcDatabaseConfig)", ldap3.LEVEL, attributes=["olcDatabase"]
    )
    if any(str(entry.olcDatabase.value).endswith("monitor") for entry in connection.entries):
        return
    admin_dn = _database_root_dn(connection, suffix)
    entry_dn, attributes = slapd_config.monitor_database(suffix, admin_dn)
    # cn=config numbers a new database itself: add it by its type alone.
    _add(connection, re.sub(r"=\{\d+\}", "=", entry_dn, count=1), attributes)


def _write_through_map(connection: ldap3.Connection, suffix: str) -> None:
    """Give both mdb databases the writable memory map (version 13), unless they have it.

    slapd reopens a database whose environment flags change, so it applies without a restart.
    """
    for database_suffix in (suffix, slapd_config.ACCESSLOG_SUFFIX):
        connection.search(
            "cn=config", dn.equals("olcSuffix", database_suffix), attributes=["olcDbEnvFlags"]
        )
        for entry in connection.entries:
            present = {str(flag).lower() for flag in entry.olcDbEnvFlags.values}
            missing = [flag for flag in slapd_config.ENV_FLAGS if flag not in present]
            if missing:
                change = {"olcDbEnvFlags": [(ldap3.MODIFY_ADD, missing)]}
                connection.modify(entry.entry_dn, change)


def _database_root_dn(connection: ldap3.Connection, suffix: str) -> str:
    connection.search(
        _database(connection, suffix), "(objectClass=*)", "BASE", attributes=["olcRootDN"]
    )
    return str(connection.entries[0].olcRootDN.value)


def _add_missing_indexes(connection: ldap3.Connection, suffix: str) -> None:
    """Add the database indexes this version configures at init (slapd builds them itself)."""
    database_dn = _database(connection, suffix)
    connection.search(database_dn, "(objectClass=*)", ldap3.BASE, attributes=["olcDbIndex"])
    database = connection.entries[0]
    present = {" ".join(str(value).split()) for value in database.olcDbIndex.values}
    missing = [index for index in slapd_config.INDEXES if index not in present]
    if missing:
        connection.modify(database.entry_dn, {"olcDbIndex": [(ldap3.MODIFY_ADD, missing)]})


def _set_substring_key_length(connection: ldap3.Connection, suffix: str) -> None:
    """Make the `sub` indexes hold 3-character keys (version 9), rebuilding them.

    Keys of the old length would answer a short substring with nothing at all, so the `sub`
    indexes are dropped first (slapd then tests entries one by one: slow, never wrong), the
    length is set, and the indexes are added again, which slapd rebuilds in the background.
    Equality indexes stay throughout. Repeatable: an upgrade stopped midway puts back this
    version's `sub` indexes the next time.
    """
    wanted = str(slapd_config.SUBSTRING_KEY_LENGTH)
    database_dn = _database(connection, suffix)
    connection.search(
        "cn=config", "(objectClass=*)", ldap3.BASE, attributes=["olcIndexSubstrAnyLen"]
    )
    current = connection.entries[0].olcIndexSubstrAnyLen.value
    dropped = []
    if current is None or str(current) != wanted:
        dropped = [index for index in _indexes(connection, database_dn) if _has_sub(index)]
        if dropped:
            _swap_indexes(connection, database_dn, dropped, _lean(dropped))
        change = {"olcIndexSubstrAnyLen": [(ldap3.MODIFY_REPLACE, [wanted])]}
        connection.modify("cn=config", change)
    present = _indexes(connection, database_dn)
    ours = [i for i in slapd_config.INDEXES if _has_sub(i) and i not in present]
    back = [
        i
        for i in dict.fromkeys(dropped + ours)
        if i not in present and _without_sub(i) in [*present, ""]
    ]
    if back:
        _swap_indexes(connection, database_dn, _lean(back), back)


def _indexes(connection: ldap3.Connection, database_dn: str) -> list[str]:
    """Return the database's olcDbIndex values, spaces normalised."""
    connection.search(database_dn, "(objectClass=*)", ldap3.BASE, attributes=["olcDbIndex"])
    return [" ".join(str(v).split()) for v in connection.entries[0].olcDbIndex.values]


def _has_sub(index: str) -> bool:
    return "sub" in index.partition(" ")[2].split(",")


def _lean(indexes: list[str]) -> list[str]:
    """Return these olcDbIndex values without `sub`, leaving out those with nothing else."""
    return [lean for index in indexes if (lean := _without_sub(index))]


def _without_sub(index: str) -> str:
    """Return an olcDbIndex value without its `sub` ("cn eq,sub" -> "cn eq"; "x sub" -> "")."""
    attributes, _, kinds = index.partition(" ")
    left = [kind for kind in kinds.split(",") if kind != "sub"]
    return f"{attributes} {','.join(left)}" if left else ""


def _swap_indexes(
    connection: ldap3.Connection, database_dn: str, old: list[str], new: list[str]
) -> None:
    """Replace some olcDbIndex values by others in one modify (slapd builds what is new)."""
    changes = ([(ldap3.MODIFY_DELETE, old)] if old else []) + (
        [(ldap3.MODIFY_ADD, new)] if new else []
    )
    connection.modify(database_dn, {"olcDbIndex": changes})


def _add_person_classes(connection: ldap3.Connection, suffix: str) -> None:
    """Give every person the classes later versions added (mimsScimPerson, mimsScimRemovals).

    Only people still without one are found, so a repeated upgrade carries on where it stopped.
    """
    for added in PERSON_CLASSES_ADDED:
        for person in _people_without(connection, suffix, added, ["1.1"]):
            connection.modify(person["dn"], {"objectClass": [(ldap3.MODIFY_ADD, [added])]})


def _add_lease_class(connection: ldap3.Connection, suffix: str) -> None:
    """Give every downstream target's sync entry the lease class (version 11).

    Only entries still without it are found, so a repeated upgrade carries on where it stopped.
    """
    lacking = (
        f"(&{dn.equals('objectClass', SYNC_TARGET_CLASS)}"
        f"(!{dn.equals('objectClass', SYNC_LEASE_CLASS)}))"
    )
    if not _exists(connection, dn.sync_base(suffix)):
        return
    for target in _paged(connection, dn.sync_base(suffix), lacking, ["1.1"]):
        connection.modify(target["dn"], {"objectClass": [(ldap3.MODIFY_ADD, [SYNC_LEASE_CLASS])]})


def _add_id_counter(connection: ldap3.Connection, suffix: str, posix: PosixRules) -> None:
    """Add the uidNumber/gidNumber counter (version 7), past any uidNumber already in use."""
    if _exists(connection, dn.id_numbers_dn(suffix)):
        return
    in_use = [
        int(item["raw_attributes"]["uidNumber"][0])
        for item in _paged(connection, suffix, "(uidNumber=*)", ["uidNumber"], ldap3.SUBTREE)
    ]
    next_uid = max(in_use) + 1 if in_use else None
    _add_missing(connection, [id_numbers.counter_entry(suffix, posix, next_uid)])


def _make_people_posix_accounts(
    connection: ldap3.Connection, suffix: str, posix: PosixRules
) -> None:
    """Make every person a posixAccount and shadowAccount (version 7), with a new uidNumber.

    Only people still without posixAccount are found, so a repeated upgrade carries on where
    it stopped; numbers taken by an upgrade that stopped midway are left unused, never reused.
    A uid two people share (allowed per role OU before version 7) is left as it is: changing
    it would change a login ID, so `mims directory check` lists it with the command to fix it.
    """
    wanted = ["uid", "mimsRole", "mimsDisabled", "objectClass"]
    people = _people_without(connection, suffix, "posixAccount", wanted)
    if not people:
        return
    numbers = id_numbers.allocate(connection, suffix, "uid", len(people), posix)
    for person, number in zip(people, numbers, strict=True):
        raw = {name.lower(): values for name, values in person["raw_attributes"].items()}
        uid = raw["uid"][0].decode()
        role = (raw.get("mimsrole") or [b""])[0].decode() or dn.role_of(person["dn"]) or "student"
        disabled = (raw.get("mimsdisabled") or [b""])[0] == b"TRUE"
        classes = {value.decode().lower() for value in raw.get("objectclass", [])}
        added = [c for c in ("posixAccount", "shadowAccount") if c.lower() not in classes]
        values = mapping.numbers(number) | {"homeDirectory": [posix.home(uid)]}
        values |= mapping.posix_attributes(role, disabled, posix)
        changes: dict[str, list[tuple[str, list[str]]]] = {
            "objectClass": [(ldap3.MODIFY_ADD, added)],
            **{name: [(ldap3.MODIFY_REPLACE, value)] for name, value in values.items()},
        }
        connection.modify(person["dn"], changes)


# What version 7 reads of a person to give them mimsPersonPlacement and the derived attributes.
_PLACEMENT_READ = ["cn", "sn", "displayName", "ou", "o", "mimsSchool", "mimsClass", "mimsRole"]
PLACEMENT_CLASS = "mimsPersonPlacement"


def _place_people(connection: ldap3.Connection, suffix: str) -> None:
    """Give every person version 7's attributes from what they have (people-attributes).

    Each person's ou and o move to mimsDepartment and mimsOrganization, and displayName, o
    (their school), ou (class or department) and employeeType are written. One modify per
    person adds mimsPersonPlacement with the rest, so only people not yet placed are found
    again: a repeated upgrade changes nobody twice.
    """
    for person in _people_without(connection, suffix, PLACEMENT_CLASS, _PLACEMENT_READ):
        connection.modify(person["dn"], _placement(person))


def _placement(entry: Mapping[str, Any]) -> dict[str, list[tuple[str, list[str]]]]:
    """Return the modify that places one person (see ``_place_people``)."""
    raw = {name.lower(): values for name, values in entry["raw_attributes"].items()}

    def first(name: str) -> str | None:
        values = raw.get(name.lower()) or []
        return values[0].decode() if values else None

    role = first("mimsRole") or dn.role_of(str(entry["dn"])) or "student"
    full_name = first("cn") or ""
    person = PersonFields(
        full_name=full_name,
        role=role,  # type: ignore[arg-type]
        family_name=first("sn"),
        display_name=first("displayName"),
        school=first("mimsSchool"),
        class_name=first("mimsClass"),
        department=first("ou"),  # what ou meant before version 7
    )
    changes = {"objectClass": [(ldap3.MODIFY_ADD, [PLACEMENT_CLASS])]}
    moved = {"mimsDepartment": first("ou"), "mimsOrganization": first("o")}
    changes |= {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in moved.items() if value}
    derived = mapping.derived_attributes(person)
    changes |= {name: [(ldap3.MODIFY_REPLACE, values)] for name, values in derived.items()}
    return changes


def _set_unique_rules(connection: ldap3.Connection, suffix: str) -> None:
    """Set the unique overlay's rules to what this version's code writes at init."""
    connection.search(
        "cn=config", "(objectClass=olcUniqueConfig)", ldap3.SUBTREE, attributes=["1.1"]
    )
    for entry in connection.entries:
        connection.modify(
            entry.entry_dn,
            {"olcUniqueURI": [(ldap3.MODIFY_REPLACE, slapd_config.unique_uris(suffix))]},
        )


def _set_access_rules(connection: ldap3.Connection, suffix: str) -> None:
    """Set the database's access rules to this version's (version 5: service roles).

    The replication account's rule (``mims slapd init-replica``) stays first.
    """
    _replace_keeping_replication(connection, suffix, "olcAccess", slapd_config.access_rules(suffix))


def _set_limits(connection: ldap3.Connection, suffix: str) -> None:
    """Set the database's limits to this version's (version 7: dn.onelevel, not dn.one)."""
    _replace_keeping_replication(connection, suffix, "olcLimits", slapd_config.limits(suffix))


def _replace_keeping_replication(
    connection: ldap3.Connection, suffix: str, attribute: str, rules: list[str]
) -> None:
    """Replace an ordered attribute's values by ``rules``, after those naming the replicator.

    Without them a replica's syncrepl reads nothing: it binds as that account.
    """
    database = _database(connection, suffix)
    connection.search(database, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
    present = connection.response[0]["raw_attributes"].get(attribute, [])
    replicator = f'dn.exact="{dn.service_account_dn(slapd_config.REPLICATION_ACCOUNT, suffix)}"'
    kept = [_unnumbered(value.decode()) for value in present if replicator in value.decode()]
    values = [*kept, *(_unnumbered(rule) for rule in rules)]
    numbered = [f"{{{index}}}{value}" for index, value in enumerate(values)]
    connection.modify(database, {attribute: [(ldap3.MODIFY_REPLACE, numbered)]})


def _use_plain_syncrepl(connection: ldap3.Connection, suffix: str) -> None:
    """Turn a delta-syncrepl made by an older ``init-replica`` into plain syncrepl.

    Delta-syncrepl lost adds on slapd 2.5 (docs/high-availability.md); the same syncrepl
    without ``logbase``, ``logfilter`` and ``syncdata`` pulls the peer's tree instead of its
    accesslog. A plain one is left as it is, so a repeated upgrade changes nothing.
    """
    database = _database(connection, suffix)
    connection.search(database, "(objectClass=*)", ldap3.BASE, attributes=["olcSyncrepl"])
    present = [
        value.decode() for value in connection.response[0]["raw_attributes"].get("olcSyncrepl", [])
    ]
    wanted = [plain_syncrepl(value) for value in present]
    if wanted != present:
        connection.modify(database, {"olcSyncrepl": [(ldap3.MODIFY_REPLACE, wanted)]})


def plain_syncrepl(stanza: str) -> str:
    """Return an ``olcSyncrepl`` value without its delta-syncrepl settings (the rest as is)."""
    return _DELTA_SETTINGS.sub("", stanza)


def _unnumbered(value: str) -> str:
    """Return an ordered value without cn=config's ``{N}`` prefix."""
    return re.sub(r"^\{\d+\}", "", value)


def _give_hand_made_accounts_a_role(connection: ldap3.Connection, suffix: str) -> None:
    """Put accounts made by hand under ou=services, in no role yet, in the ``reader`` role.

    Before version 5 every such account read the whole tree but secrets; ``reader`` keeps what
    tools such as GCDS use (people's public attributes, mimsDisabled, groups) and nothing more.
    """
    connection.search(dn.roles_base(suffix), mapping.IS_GROUP, ldap3.LEVEL, attributes=["member"])
    in_a_role = {dn.normalised(str(m)) for e in connection.entries for m in e.member.values}
    connection.search(
        dn.services_base(suffix),
        "(objectClass=simpleSecurityObject)",
        ldap3.LEVEL,
        attributes=["1.1"],
    )
    bridge = dn.normalised(slapd_config.service_dn(suffix))
    # The replication account reads by a rule of its own (init-replica), in no role.
    replicator = dn.normalised(dn.service_account_dn(slapd_config.REPLICATION_ACCOUNT, suffix))
    lacking = [
        entry.entry_dn
        for entry in connection.entries
        if dn.normalised(entry.entry_dn) not in in_a_role | {bridge, replicator}
    ]
    if lacking:
        reader = dn.role_group_dn("reader", suffix)
        connection.modify(reader, {"member": [(ldap3.MODIFY_ADD, lacking)]})


def _refuse_own_changes_in_the_default_policy(connection: ldap3.Connection, suffix: str) -> None:
    """Say in the default policy that accounts do not change their own password over LDAP."""
    change = {"pwdAllowUserChange": [(ldap3.MODIFY_REPLACE, ["FALSE"])]}
    connection.modify(slapd_config.default_policy_dn(suffix), change)


def _add_missing(connection: ldap3.Connection, entries: list[ldif.Entry]) -> None:
    """Add base entries this version starts with, unless they are there already."""
    for entry_dn, attributes in entries:
        if _exists(connection, entry_dn):
            continue
        values: dict[str, list[str | bytes]] = {}
        for name, value in attributes:
            values.setdefault(name, []).append(value)
        connection.add(entry_dn, attributes=values)


def _make_role_groups_mims_groups(connection: ldap3.Connection, suffix: str) -> None:
    """Make the service roles' groupOfNames entries mimsGroup ones, without the empty member.

    Version 7: the access rules name role groups as ``group/mimsGroup/member``.
    """
    base = dn.roles_base(suffix)
    old = dn.equals("objectClass", "groupOfNames")
    placeholders = {item["dn"] for item in _paged(connection, base, _EMPTY_MEMBER, ["1.1"])}
    for item in _paged(connection, base, old, ["objectClass"]):
        changes = _as_mims_group(item, placeholders)
        connection.modify(item["dn"], changes, controls=[RELAX_RULES])


def _make_groups_mims_groups(connection: ldap3.Connection, suffix: str, posix: PosixRules) -> None:
    """Make every group under ou=groups a POSIX mimsGroup in place (version 7).

    Each keeps its DN, entryUUID, members and address, loses the empty member value, and gains
    ``mimsPosixName`` and a ``gidNumber`` from the group range. The names are chosen here,
    against every name the tree holds, because the Relax Rules control that lets the class
    change also lets the write past the unique overlay; nothing else writes during the
    upgrade. One modify per group: a group is either done or not, and a repeated upgrade finds
    only those not done (numbers taken by one that stopped midway are left unused).
    """
    base = dn.groups_base(suffix)
    named = dn.equals("objectClass", mapping.GROUP_CLASS)
    lacking = f"(|(!({mapping.POSIX_NAME}=*))(!(gidNumber=*)))"
    undone = f"(|{dn.equals('objectClass', 'groupOfNames')}(&{named}{lacking}))"
    taken = {
        str(value).lower()
        for item in _paged(connection, base, f"({mapping.POSIX_NAME}=*)", [mapping.POSIX_NAME])
        for value in item["attributes"].get(mapping.POSIX_NAME, [])
    }
    placeholders = {item["dn"] for item in _paged(connection, base, _EMPTY_MEMBER, ["1.1"])}
    wanted = ["objectClass", "cn", mapping.POSIX_NAME, "gidNumber"]
    groups = _paged(connection, base, undone, wanted)
    unnumbered = sum(1 for item in groups if not item["attributes"].get("gidNumber"))
    block = id_numbers.allocate(connection, suffix, "gid", unnumbered, posix) if unnumbered else []
    numbers = iter(block)
    for item in groups:
        attributes = item["attributes"]
        changes = _as_mims_group(item, placeholders)
        if not attributes.get(mapping.POSIX_NAME):
            name = next(iter(attributes.get("cn", [])), None) or dn.first_value(item["dn"])
            posix_name = posix_group_name.first_free(name, taken)
            taken.add(posix_name)
            changes[mapping.POSIX_NAME] = [(ldap3.MODIFY_ADD, [posix_name])]
        if not attributes.get("gidNumber"):
            changes["gidNumber"] = [(ldap3.MODIFY_ADD, [str(next(numbers))])]
        connection.modify(item["dn"], changes, controls=[RELAX_RULES])


def _as_mims_group(
    item: dict[str, Any], placeholders: set[str]
) -> dict[str, list[tuple[str, list[str]]]]:
    """Return the changes that make a group entry a mimsGroup without the empty member.

    Only values the entry holds are deleted: slapd refuses to delete one that is not there.
    """
    classes = {str(value).lower(): str(value) for value in item["attributes"]["objectClass"]}
    steps: list[tuple[str, list[str]]] = []
    old = [classes[name.lower()] for name in OLD_GROUP_CLASSES if name.lower() in classes]
    if old:
        steps.append((ldap3.MODIFY_DELETE, old))
    if mapping.GROUP_CLASS.lower() not in classes:
        steps.append((ldap3.MODIFY_ADD, [mapping.GROUP_CLASS]))
    changes = {"objectClass": steps} if steps else {}
    if item["dn"] in placeholders:
        changes["member"] = [(ldap3.MODIFY_DELETE, [OLD_EMPTY_MEMBER])]
    return changes


def _set_member_of_group_class(connection: ldap3.Connection, suffix: str) -> None:
    """Point the memberof overlay at mimsGroup, the class groups are since version 7."""
    database = _database(connection, suffix)
    connection.search(database, "(objectClass=olcMemberOf)", ldap3.LEVEL, attributes=["1.1"])
    change = {"olcMemberOfGroupOC": [(ldap3.MODIFY_REPLACE, [slapd_config.GROUP_CLASS])]}
    for entry in connection.entries:
        connection.modify(entry.entry_dn, change)


def _paged(
    connection: ldap3.Connection,
    base: str,
    ldap_filter: str,
    attributes: list[str],
    scope: str = ldap3.LEVEL,
) -> list[dict[str, Any]]:
    """Return the entries under ``base`` (one level by default) that match, read by pages."""
    found = connection.extend.standard.paged_search(
        base, ldap_filter, scope, attributes=attributes, paged_size=500
    )
    return [item for item in found if item.get("type") == "searchResEntry"]


def _people_without(
    connection: ldap3.Connection, suffix: str, object_class: str, attributes: list[str]
) -> list[dict[str, Any]]:
    """Return the people not yet of ``object_class``: what a repeated upgrade has left to do."""
    lacking = (
        f"(&{dn.equals('objectClass', 'mimsPerson')}(!{dn.equals('objectClass', object_class)}))"
    )
    return _paged(connection, dn.people_base(suffix), lacking, attributes, ldap3.SUBTREE)


def _exists(connection: ldap3.Connection, entry_dn: str) -> bool:
    """Return whether an entry is there, asked of its parent: a base search of none fails."""
    parent = ",".join(dn.split(entry_dn)[1:])
    connection.search(parent, "(objectClass=*)", ldap3.LEVEL, attributes=["1.1"])
    return any(
        dn.normalised(found.entry_dn) == dn.normalised(entry_dn) for found in connection.entries
    )
