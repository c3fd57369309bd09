"""Upgrade a managed data folder made with an older schema version, in place, over ldapi.

Steps are each safe to repeat, and the version is recorded last (on the suffix entry, then in
the folder's marker file), so a failure midway leaves the old version and the next start
simply runs the upgrade again. Schema elements are only ever added: cn=config cannot drop an
attribute type that entries may still use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.core.people import PersonFields
from bridge.directory import dn, ldif, mapping, slapd_config
from bridge.errors import SlapdError

# The oldest version this code knows how to bring forward.
OLDEST_UPGRADABLE = 1

_OID = re.compile(r"^\s*(?:\{\d+\})?\(\s*([0-9.]+)")
_SCHEMA_ATTRIBUTES = ("olcAttributeTypes", "olcObjectClasses")
# Auxiliary classes every person carries since they were added (versions 3 and 4).
PERSON_CLASSES_ADDED = ("mimsScimPerson", "mimsScimRemovals")


def shipped_definitions(schema: Traversable = slapd_config.PROJECT_SCHEMA) -> dict[str, list[str]]:
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


def upgrade(ldapi_url: str, suffix: str, wanted: int, accesslog: list[ldif.Entry]) -> None:
    """Bring the running directory at ``ldapi_url`` to schema version ``wanted``, as rootDN.

    ``accesslog`` is the folder's accesslog database (``slapd_config.accesslog_database``),
    added before the overlay that writes into it.
    """
    try:
        connection = ldap3.Connection(
            ldap3.Server(ldapi_url, get_info=ldap3.NONE),
            authentication=ldap3.SASL,
            sasl_mechanism=ldap3.EXTERNAL,
            sasl_credentials="",
            auto_bind=True,
            raise_exceptions=True,
        )
    except LDAPException as exc:
        raise SlapdError(f"cannot reach the directory to upgrade it: {exc}") from None
    try:
        _add_schema_definitions(connection)
        _load_missing_modules(connection)
        _add_accesslog_database(connection, accesslog)
        _add_missing_overlays(connection, suffix)
        _add_missing_indexes(connection, suffix)
        _set_unique_rules(connection, suffix)
        _add_missing(connection, [slapd_config.sync_ou(suffix)])
        _add_person_classes(connection, suffix)
        _place_people(connection, suffix)
        _add_missing(connection, slapd_config.service_roles(suffix))
        _give_hand_made_accounts_a_role(connection, suffix)
        _set_access_rules(connection, suffix)
        _refuse_own_changes_in_the_default_policy(connection, suffix)
        connection.modify(suffix, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, [str(wanted)])]})
    except LDAPException as exc:
        raise SlapdError(f"upgrading to schema version {wanted} failed: {exc}") from None
    finally:
        connection.unbind()


def _add_schema_definitions(connection: ldap3.Connection) -> None:
    """Add the shipped attribute types and classes the directory's mims schema lacks."""
    connection.search(
        "cn=schema,cn=config",
        "(cn=*mims)",
        ldap3.LEVEL,
        attributes=list(_SCHEMA_ATTRIBUTES),
    )
    if len(connection.entries) != 1:
        raise SlapdError("the directory holds no mims schema entry to upgrade")
    entry = connection.entries[0]
    changes: dict[str, list[tuple[str, list[str]]]] = {}
    for name, definitions in shipped_definitions().items():
        present = {oid_of(value) for value in entry[name].values}
        missing = [value for value in definitions if oid_of(value) not in present]
        if missing:
            changes[name] = [(ldap3.MODIFY_ADD, missing)]
    if changes:
        # Attribute types before the classes that use them: one modify applies them in order.
        connection.modify(entry.entry_dn, dict(sorted(changes.items())))


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
    for entry_dn, attributes in entries:
        values: dict[str, list[str | bytes]] = {}
        for name, value in attributes:
            values.setdefault(name, []).append(value)
        # cn=config numbers a new database itself: add it by its type alone.
        connection.add(re.sub(r"=\{\d+\}", "=", entry_dn, count=1), attributes=values)


def _add_missing_indexes(connection: ldap3.Connection, suffix: str) -> None:
    """Add the database indexes this version configures at init (slapd builds them itself)."""
    database_dn = _database(connection, suffix)
    connection.search(database_dn, "(objectClass=*)", ldap3.BASE, attributes=["olcDbIndex"])
    database = connection.entries[0]
    present = {" ".join(str(value).split()) for value in database.olcDbIndex.values}
    missing = [index for index in slapd_config.INDEXES if index not in present]
    if missing:
        connection.modify(database.entry_dn, {"olcDbIndex": [(ldap3.MODIFY_ADD, missing)]})


def _add_person_classes(connection: ldap3.Connection, suffix: str) -> None:
    """Give every person the classes later versions added (mimsScimPerson, mimsScimRemovals).

    Only people still without one are found, so a repeated upgrade carries on where it stopped.
    """
    for added in PERSON_CLASSES_ADDED:
        lacking = f"(&{dn.equals('objectClass', 'mimsPerson')}(!{dn.equals('objectClass', added)}))"
        found = connection.extend.standard.paged_search(
            dn.people_base(suffix), lacking, ldap3.SUBTREE, attributes=["1.1"], paged_size=500
        )
        entries = [item["dn"] for item in found if item.get("type") == "searchResEntry"]
        for entry in entries:
            connection.modify(entry, {"objectClass": [(ldap3.MODIFY_ADD, [added])]})


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
    placed = dn.equals("objectClass", PLACEMENT_CLASS)
    lacking = f"(&{dn.equals('objectClass', 'mimsPerson')}(!{placed}))"
    found = connection.extend.standard.paged_search(
        dn.people_base(suffix), lacking, ldap3.SUBTREE, attributes=_PLACEMENT_READ, paged_size=500
    )
    entries = [item for item in found if item.get("type") == "searchResEntry"]
    for entry in entries:
        connection.modify(entry["dn"], _placement(entry))


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
    """Set the database's access rules to this version's (version 5: service roles)."""
    rules = slapd_config.access_rules(suffix)
    connection.modify(_database(connection, suffix), {"olcAccess": [(ldap3.MODIFY_REPLACE, rules)]})


def _give_hand_made_accounts_a_role(connection: ldap3.Connection, suffix: str) -> None:
    """Put accounts made by hand under ou=services, in no role yet, in the ``reader`` role.

    Before version 5 every such account read the whole tree but secrets; ``reader`` keeps what
    tools such as GCDS use (people's public attributes, mimsDisabled, groups) and nothing more.
    """
    connection.search(
        dn.roles_base(suffix), "(objectClass=groupOfNames)", ldap3.LEVEL, attributes=["member"]
    )
    in_a_role = {dn.normalised(str(m)) for e in connection.entries for m in e.member.values if m}
    connection.search(
        dn.services_base(suffix),
        "(objectClass=simpleSecurityObject)",
        ldap3.LEVEL,
        attributes=["1.1"],
    )
    bridge = dn.normalised(slapd_config.service_dn(suffix))
    lacking = [
        entry.entry_dn
        for entry in connection.entries
        if dn.normalised(entry.entry_dn) not in in_a_role | {bridge}
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
        parent = ",".join(dn.split(entry_dn)[1:])
        connection.search(parent, "(objectClass=*)", ldap3.LEVEL, attributes=["1.1"])
        if any(found.entry_dn.lower() == entry_dn.lower() for found in connection.entries):
            continue
        values: dict[str, list[str | bytes]] = {}
        for name, value in attributes:
            values.setdefault(name, []).append(value)
        connection.add(entry_dn, attributes=values)
