"""A version-6 folder upgraded to version 7: people become Unix accounts, nothing else changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3
import pytest

from bridge.core.posix import DEFAULT_RULES
from bridge.directory import check, dn, schema_upgrade, slapd_config
from bridge.directory.client import ClientSettings
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection, bound
from tests.support.old_folders import write_as_before_version_7
from tests.support.ports import free_port

V6_SCHEMA = Path(__file__).parent / "data" / "mims-v6.ldif"
V6_SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson")
V6_INDEXES = tuple(index for index in slapd_config.INDEXES if not index.startswith("uidNumber"))
V6_PUBLIC_PERSON = tuple(
    name
    for name in slapd_config.PUBLIC_PERSON
    if name not in ("uidNumber", "gidNumber", "homeDirectory", "loginShell")
)
COUNTER = dn.id_numbers_dn(SUFFIX)
PEOPLE = f"ou=people,{SUFFIX}"
V6_CLASSES = ["inetOrgPerson", "mimsPerson", "mimsScimPerson", "mimsScimRemovals"]
# As version 6 made them: a student and a teacher namesake share the uid mary_tan (unique only
# per role OU then); one person disabled; one who already had a uidNumber set by hand.
V6_PEOPLE: dict[str, dict[str, Any]] = {
    f"uid=mary_tan,ou=students,{PEOPLE}": {
        "cn": "Mary Tan",
        "sn": "Tan",
        "mail": "mary_tan@students.edu.sg",
        "mimsRole": "student",
        "mimsExternalId": "S1",
    },
    f"uid=mary_tan,ou=staff,{PEOPLE}": {
        "cn": "Mary Tan",
        "sn": "Tan",
        "mail": "mary_tan@schools.gov.sg",
        "mimsRole": "staff",
        "mimsExternalId": "F1",
    },
    f"uid=jon_lim,ou=students,{PEOPLE}": {
        "cn": "Jon Lim",
        "sn": "Lim",
        "mail": "jon_lim@students.edu.sg",
        "mimsRole": "student",
        "mimsDisabled": "TRUE",
        "mimsExternalId": "S2",
    },
}
HAND_NUMBERED = f"cn=printer,ou=services,{SUFFIX}"  # a posix entry made by hand: 250000
POSIX = ("uidNumber", "gidNumber", "homeDirectory", "loginShell", "shadowExpire")
# What version 7 derives for consumers (tests/directory/test_schema_upgrade.py checks them).
PLACEMENT = ("displayName", "employeeType", "o", "ou", "mimsDepartment", "mimsOrganization")
OPERATIONAL = ["entryUUID", "createTimestamp", "pwdFailureTime"]


@dataclass
class Folder:
    """A stopped version-6 data folder, and its people and groups as version 6 left them."""

    server: ManagedSlapd
    before: dict[str, dict[str, list[str]]]
    groups: dict[str, dict[str, list[str]]]
    member_of: dict[str, list[str]]


@pytest.fixture
def v6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Folder]:
    """Build a data folder as version 6 wrote it: no nis schema, no counter, uid per OU."""
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    every_base_entry = slapd_config.base_entries
    v6_unique = [
        f"ldap:///{SUFFIX}?mail?sub",
        f"ldap:///{PEOPLE}?mimsExternalId?sub",
        f"ldap:///{PEOPLE}?mimsUserName?sub",
    ]
    with monkeypatch.context() as patch:
        patch.setattr(slapd_config, "PROJECT_SCHEMA", V6_SCHEMA)
        patch.setattr(slapd_config, "SYSTEM_SCHEMAS", V6_SYSTEM_SCHEMAS)
        patch.setattr(slapd_config, "INDEXES", V6_INDEXES)
        patch.setattr(slapd_config, "unique_uris", lambda suffix: v6_unique)
        # Version 6's access rules named no posix attribute (slapd knew none without nis).
        patch.setattr(slapd_config, "PUBLIC_PERSON", V6_PUBLIC_PERSON)
        patch.setattr(slapd_config, "DISABLED", ("mimsDisabled",))
        patch.setattr(
            slapd_config,
            "base_entries",
            lambda *args: [e for e in every_base_entry(*args) if e[0] != COUNTER],
        )
        write_as_before_version_7(patch)
        server.init()
        server.start(free_port())
    with admin_connection(server) as admin:
        for entry, attributes in V6_PEOPLE.items():
            admin.add(entry, V6_CLASSES, attributes)
        for entry, (classes, attributes) in V6_GROUPS.items():
            assert admin.add(entry, classes, attributes), admin.result
        assert admin.add(TOOL, ["organizationalRole", "simpleSecurityObject"], TOOL_ATTRIBUTES)
        reader = {"member": [(ldap3.MODIFY_ADD, [TOOL])]}
        assert admin.modify(dn.role_group_dn("reader", SUFFIX), reader), admin.result
        admin.add(
            HAND_NUMBERED,
            ["organizationalRole", "extensibleObject"],
            {"cn": "printer", "uidNumber": "250000"},
        )
    before = snapshot(server)
    old_groups, old_member_of = group_entries(server), member_of(server)
    server.stop()
    yield Folder(server, before, old_groups, old_member_of)
    server.stop()


GROUPS = f"ou=groups,{SUFFIX}"
STUDENT, TEACHER, JON = V6_PEOPLE
V6_GROUP_CLASSES = ["top", "groupOfNames", "mimsGroup", "mimsGroupAddress"]
# As version 6 made them: every group with the empty DN among its members and its address on
# mimsGroupAddress; "3/A" and "3-A" give one NSS name; one group made by hand, groupOfNames alone.
V6_GROUPS: dict[str, tuple[list[str], dict[str, Any]]] = {
    f"cn=Clementi Primary School,{GROUPS}": (
        V6_GROUP_CLASSES,
        {
            "member": ["", STUDENT, TEACHER],
            "businessCategory": "mims:school",
            "mail": "clementi-primary-school@groups.schools.gov.sg",
        },
    ),
    f"cn=Clementi Primary School / P4 / 4A,{GROUPS}": (
        V6_GROUP_CLASSES,
        {
            "member": ["", STUDENT, JON],
            "businessCategory": "mims:class",
            "mail": "clementi-primary-school-p4-4a@groups.schools.gov.sg",
        },
    ),
    f"cn=3/A,{GROUPS}": (
        V6_GROUP_CLASSES,
        {
            "member": [""],
            "businessCategory": "mims:custom",
            "mimsExternalId": "G1",
            "mail": "3-a@groups.schools.gov.sg",
        },
    ),
    f"cn=3-A,{GROUPS}": (
        V6_GROUP_CLASSES,
        {"member": ["", TEACHER], "businessCategory": "mims:custom", "mail": "3-a-2@groups.x"},
    ),
    f"cn=Old Club,{GROUPS}": (["groupOfNames"], {"member": [TEACHER], "description": "by hand"}),
}
TOOL = f"cn=reader-tool,ou=services,{SUFFIX}"  # a program in the reader role
TOOL_ATTRIBUTES = {"cn": "reader-tool", "userPassword": "reader-tool-secret"}
GROUP_OPERATIONAL = ["entryUUID", "createTimestamp", "entryCSN", "structuralObjectClass"]


def group_entries(server: ManagedSlapd, base: str = GROUPS) -> dict[str, dict[str, list[str]]]:
    """Return every entry under ``base`` (but the OU), user and operational attributes."""
    with admin_connection(server) as admin:
        admin.search(base, "(cn=*)", ldap3.LEVEL, attributes=["*", *GROUP_OPERATIONAL])
        return {
            entry.entry_dn: {
                name: sorted(str(v) for v in values)
                for name, values in entry.entry_attributes_as_dict.items()
            }
            for entry in admin.entries
        }


def member_of(server: ManagedSlapd) -> dict[str, list[str]]:
    with admin_connection(server) as admin:
        admin.search(PEOPLE, "(objectClass=mimsPerson)", attributes=["memberOf"])
        return {e.entry_dn: sorted(e.memberOf.values) for e in admin.entries}


def snapshot(server: ManagedSlapd) -> dict[str, dict[str, list[str]]]:
    """Return every person's attributes, user and operational (values sorted)."""
    with admin_connection(server) as admin:
        admin.search(PEOPLE, "(objectClass=mimsPerson)", attributes=["*", *OPERATIONAL])
        return {
            entry.entry_dn: {
                name: sorted(str(v) for v in values)
                for name, values in entry.entry_attributes_as_dict.items()
            }
            for entry in admin.entries
        }


def test_an_upgrade_makes_every_person_a_unix_account_and_changes_nothing_else(
    v6: Folder,
) -> None:
    before, v6_folder = v6.before, v6.server
    v6_folder.start(free_port())
    after = snapshot(v6_folder)
    assert after.keys() == before.keys() == V6_PEOPLE.keys()
    numbers = set()
    for entry, attributes in after.items():
        old = before[entry]
        new = (*POSIX, *PLACEMENT, "objectClass")
        unchanged = {k: v for k, v in attributes.items() if k not in new}
        assert unchanged == {k: v for k, v in old.items() if k not in new}
        assert set(attributes["objectClass"]) == set(old["objectClass"]) | {
            "posixAccount",
            "shadowAccount",
            "mimsPersonPlacement",
        }
        number = int(attributes["uidNumber"][0])
        assert number in DEFAULT_RULES.uid_numbers and number > 250000  # past the hand-made one
        assert attributes["gidNumber"] == attributes["uidNumber"]
        assert attributes["homeDirectory"] == [f"/home/{dn.first_value(entry)}"]
        assert attributes["loginShell"] == ["/bin/bash"]
        numbers.add(number)
    assert len(numbers) == len(after)
    assert after[f"uid=jon_lim,ou=students,{PEOPLE}"]["shadowExpire"] == ["1"]
    assert "shadowExpire" not in after[f"uid=mary_tan,ou=students,{PEOPLE}"]


def test_an_upgrade_run_twice_changes_nothing_the_second_time(v6: Folder) -> None:
    v6_folder = v6.server
    v6_folder.start(free_port())
    with admin_connection(v6_folder) as admin:
        admin.search(COUNTER, "(objectClass=*)", ldap3.BASE, attributes=["*", "entryCSN"])
        counter = admin.entries[0].entry_attributes_as_dict
    first = snapshot(v6_folder)
    wanted = slapd_config.schema_version()
    accesslog = slapd_config.accesslog_database(v6_folder.layout, v6_folder.admin_dn, True)
    schema_upgrade.upgrade(v6_folder.ldapi_url, SUFFIX, wanted, accesslog)
    assert snapshot(v6_folder) == first
    with admin_connection(v6_folder) as admin:
        admin.search(COUNTER, "(objectClass=*)", ldap3.BASE, attributes=["*", "entryCSN"])
        assert admin.entries[0].entry_attributes_as_dict == counter
        admin.search("cn=schema,cn=config", "(cn=*nis)", ldap3.LEVEL, attributes=["cn"])
        assert len(admin.entries) == 1


def test_an_upgraded_folder_has_the_new_rules_and_its_counter_past_every_number(
    v6: Folder,
) -> None:
    v6_folder = v6.server
    v6_folder.start(free_port())
    with admin_connection(v6_folder) as admin:
        admin.search("cn=config", "(objectClass=olcUniqueConfig)", attributes=["olcUniqueURI"])
        rules = {str(v) for v in admin.entries[0].olcUniqueURI.values}
        assert f"ldap:///{PEOPLE}?uid?sub" in rules and f"ldap:///{PEOPLE}?uidNumber?sub" in rules
        admin.search(COUNTER, "(objectClass=*)", ldap3.BASE, attributes=["mimsNextUidNumber"])
        next_uid = int(admin.entries[0].mimsNextUidNumber.value)
    highest = max(int(p["uidNumber"][0]) for p in snapshot(v6_folder).values())
    assert next_uid == highest + 1
    with admin_connection(v6_folder) as admin:  # readers may now read the posix attributes
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        assert admin.entries[0].olcAccess.values == slapd_config.access_rules(SUFFIX)


def check_settings(server: ManagedSlapd) -> ClientSettings:
    return ClientSettings(
        urls=(server.ldapi_url,),
        bind_dn=server.service_dn,
        password=server.service_password(),
        suffix=SUFFIX,
    )


def test_check_lists_a_shared_uid_with_the_rename_that_fixes_it(v6: Folder) -> None:
    v6.server.start(free_port())
    findings = [f for f in check.check(check_settings(v6.server), {}) if f.subject == "uid"]
    assert [f.status for f in findings] == ["different"]
    # The older keeps mary_tan (both were made in one second here, so either may be older).
    kept, renamed = re.match(
        r"mary_tan names (\S+) and (\S+) \(unique in every role since schema version 7\); "
        r"give one a new login ID: mims user rename \2 mary_tan_1@(\S+)$",
        findings[0].detail,
    ).groups()[:2]
    assert {kept, renamed} == {"mary_tan@students.edu.sg", "mary_tan@schools.gov.sg"}
    assert findings[0].detail.endswith("mary_tan_1@" + renamed.split("@")[1])


def test_an_upgrade_makes_every_group_a_posix_mims_group_in_place_and_changes_nothing_else(
    v6: Folder,
) -> None:
    v6.server.start(free_port())
    after = group_entries(v6.server)
    assert after.keys() == v6.groups.keys() == V6_GROUPS.keys()
    added = ("gidNumber", "mimsPosixName")
    changed = ("objectClass", "member", "structuralObjectClass", "entryCSN")
    for entry, attributes in after.items():
        old = v6.groups[entry]
        kept = {k: v for k, v in attributes.items() if k not in (*added, *changed)}
        assert kept == {k: v for k, v in old.items() if k not in changed}  # entryUUID too
        assert set(attributes["objectClass"]) - {"top"} == {"mimsGroup"}
        assert attributes["structuralObjectClass"] == ["mimsGroup"]
        assert attributes.get("member", []) == [m for m in old["member"] if m]
        assert re.fullmatch(r"[a-z][a-z0-9._-]*", attributes["mimsPosixName"][0])
    names = {dn.first_value(e): a["mimsPosixName"][0] for e, a in after.items()}
    assert names["Clementi Primary School / P4 / 4A"] == "clementi-primary-school-p4-4a"
    assert names["Old Club"] == "old-club"
    assert {names["3/A"], names["3-A"]} == {"group-3-a", "group-3-a-2"}
    gids = [int(a["gidNumber"][0]) for a in after.values()]
    assert len(set(gids)) == len(gids) and all(g in DEFAULT_RULES.gid_numbers for g in gids)
    assert member_of(v6.server) == v6.member_of


def test_upgraded_role_groups_and_memberof_work_with_the_new_class(v6: Folder) -> None:
    v6.server.start(free_port())
    roles = group_entries(v6.server, dn.roles_base(SUFFIX))
    assert {tuple(r["objectClass"]) for r in roles.values()} == {("mimsGroup", "top")}
    assert all("" not in r.get("member", []) for r in roles.values())
    assert "gidNumber" not in roles[dn.role_group_dn("reader", SUFFIX)]
    # The access rules find the reader role by group/mimsGroup/member: the tool reads on.
    school = f"cn=Clementi Primary School,{GROUPS}"
    with bound(v6.server, TOOL, TOOL_ATTRIBUTES["userPassword"]) as tool:
        tool.search(school, "(objectClass=mimsGroup)", ldap3.BASE, attributes=["mimsPosixName"])
        assert [str(e.mimsPosixName) for e in tool.entries] == ["clementi-primary-school"]
    # The memberof overlay keeps memberOf for mimsGroup's members.
    with admin_connection(v6.server) as admin:
        assert admin.modify(school, {"member": [(ldap3.MODIFY_ADD, [JON])]}), admin.result
    assert school in member_of(v6.server)[JON]


def test_a_second_upgrade_changes_no_group(v6: Folder) -> None:
    v6.server.start(free_port())
    first = group_entries(v6.server), group_entries(v6.server, dn.roles_base(SUFFIX))
    wanted = slapd_config.schema_version()
    accesslog = slapd_config.accesslog_database(v6.server.layout, v6.server.admin_dn, True)
    schema_upgrade.upgrade(v6.server.ldapi_url, SUFFIX, wanted, accesslog)
    assert (group_entries(v6.server), group_entries(v6.server, dn.roles_base(SUFFIX))) == first
    with admin_connection(v6.server) as admin:
        admin.search(
            "cn=schema,cn=config", "(cn=*mims)", ldap3.LEVEL, attributes=["olcObjectClasses"]
        )
        classes = [v for v in admin.entries[0].olcObjectClasses.values if "mimsGroup" in v]
        assert len([v for v in classes if "NAME 'mimsGroup'" in v]) == 1
        assert any("NAME 'mimsGroupAuxiliary'" in v and "OBSOLETE" in v for v in classes)
