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
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

V6_SCHEMA = Path(__file__).parent / "data" / "mims-v6.ldif"
V6_SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson")
V6_INDEXES = tuple(index for index in slapd_config.INDEXES if not index.startswith("uidNumber"))
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
OPERATIONAL = ["entryUUID", "createTimestamp", "pwdFailureTime"]


@dataclass
class Folder:
    """A stopped version-6 data folder, and its people as version 6 left them."""

    server: ManagedSlapd
    before: dict[str, dict[str, list[str]]]


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
        patch.setattr(
            slapd_config,
            "base_entries",
            lambda *args: [e for e in every_base_entry(*args) if e[0] != COUNTER],
        )
        server.init()
        server.start(free_port())
    with admin_connection(server) as admin:
        for entry, attributes in V6_PEOPLE.items():
            admin.add(entry, V6_CLASSES, attributes)
        admin.add(
            HAND_NUMBERED,
            ["organizationalRole", "extensibleObject"],
            {"cn": "printer", "uidNumber": "250000"},
        )
    before = snapshot(server)
    server.stop()
    yield Folder(server, before)
    server.stop()


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
        unchanged = {k: v for k, v in attributes.items() if k not in (*POSIX, "objectClass")}
        assert unchanged == {k: v for k, v in old.items() if k != "objectClass"}
        assert set(attributes["objectClass"]) == set(old["objectClass"]) | {
            "posixAccount",
            "shadowAccount",
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


def test_an_upgraded_folder_keeps_uid_unique_and_numbers_new_people_from_the_counter(
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
