"""A version-1 data folder is upgraded in place when started: data kept, new classes usable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPConstraintViolationResult

from bridge.core.service_accounts import ROLES
from bridge.directory import accesslog, dn, schema_upgrade, slapd_config
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import SlapdError
from tests.support.directory import SUFFIX, admin_connection, bound, closing, ldaps_server
from tests.support.old_folders import write_as_before_version_7
from tests.support.ports import free_port

V1_SCHEMA = Path(__file__).parent / "data" / "mims-v1.ldif"
PERSON = f"uid=mary_tan,ou=students,ou=people,{SUFFIX}"
TEACHER = f"uid=siti_rahmah,ou=staff,ou=people,{SUFFIX}"
V1_MODULES = tuple(name for name in slapd_config.MODULES if name not in ("deref", "accesslog"))
V1_INDEXES = tuple(index for index in slapd_config.INDEXES if "mimsUserName" not in index)
V6_SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson")  # no nis before version 7
COUNTER = dn.id_numbers_dn(SUFFIX)
HAND_MADE = f"cn=gcds,ou=services,{SUFFIX}"  # as docs/gcds/README.md told admins before version 5


def v4_access(suffix: str) -> list[str]:
    """Return the access rules versions 1 to 4 wrote: every account under ou=services read all."""
    bridge = f'dn.exact="cn=mims-bridge,ou=services,{suffix}"'
    return [
        f"{{0}}to attrs=userPassword filter=(mimsDisabled=TRUE) by {bridge} =w by * none",
        f"{{1}}to attrs=userPassword by self =x by {bridge} =wx by anonymous auth by * none",
        f"{{2}}to attrs=mimsChallengeAnswer,mimsTokenHash by {bridge} write by * none",
        f'{{3}}to dn.subtree="ou=services,{suffix}" by {bridge} write by self read by * none',
        f'{{4}}to * by {bridge} write by dn.one="ou=services,{suffix}" read by self read by * none',
    ]


def v6_limits(suffix: str) -> list[str]:
    """Return the limits versions 1 to 6 wrote, in the form slapd 2.5 calls deprecated."""
    return [f'{{0}}dn.one="ou=services,{suffix}" size.soft=unlimited size.hard=unlimited']


V1_UNIQUE = [
    f"ldap:///ou=people,{SUFFIX}?mail?sub",
    f"ldap:///ou=people,{SUFFIX}?mimsExternalId?sub",
]


@pytest.fixture
def v1_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Build a data folder as version 1 wrote it: v1 schema, people-only unique rule, no ou=sync.

    Version 1 also had no deref overlay (nor its module), no service roles, access rules that
    let every account under ou=services read the tree, and a default policy silent about
    pwdAllowUserChange, and no accesslog (version 6). An account for GCDS was made by hand, as
    the GCDS guide said then.
    """
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    every_overlay = slapd_config.overlays
    every_base_entry = slapd_config.base_entries
    with monkeypatch.context() as patch:
        patch.setattr(slapd_config, "PROJECT_SCHEMA", V1_SCHEMA)
        patch.setattr(slapd_config, "SYSTEM_SCHEMAS", V6_SYSTEM_SCHEMAS)
        patch.setattr(
            slapd_config,
            "base_entries",
            lambda *args: [e for e in every_base_entry(*args) if e[0] != COUNTER],
        )
        patch.setattr(slapd_config, "MODULES", V1_MODULES)
        patch.setattr(slapd_config, "ENV_FLAGS", ())
        patch.setattr(slapd_config, "INDEXES", V1_INDEXES)
        patch.setattr(slapd_config, "unique_uris", lambda suffix: V1_UNIQUE)
        patch.setattr(slapd_config, "access_rules", v4_access)
        patch.setattr(slapd_config, "limits", v6_limits)
        patch.setattr(
            slapd_config,
            "overlays",
            lambda suffix: [o for o in every_overlay(suffix) if o[0] not in ("deref", "accesslog")],
        )
        patch.setattr(slapd_config, "accesslog_database", lambda *_: [])
        write_as_before_version_7(patch)
        server.init()
        server.start(free_port())
    with admin_connection(server) as admin:
        admin.delete(dn.sync_base(SUFFIX))
        for role in ROLES:
            admin.delete(dn.role_group_dn(role, SUFFIX))
        admin.delete(dn.roles_base(SUFFIX))
        policy = slapd_config.default_policy_dn(SUFFIX)
        admin.modify(policy, {"pwdAllowUserChange": [(ldap3.MODIFY_DELETE, [])]})
        admin.add(
            HAND_MADE,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "gcds", "userPassword": "gcds-secret-of-old"},
        )
        admin.search("cn=config", "(objectClass=olcUniqueConfig)", attributes=["1.1"])
        unique = admin.entries[0].entry_dn
        admin.modify(unique, {"olcUniqueURI": [(ldap3.MODIFY_REPLACE, V1_UNIQUE)]})
        admin.add(
            PERSON,
            ["inetOrgPerson", "mimsPerson"],
            {
                "cn": "Mary Tan",
                "sn": "Tan",
                "mail": "mary_tan@students.edu.sg",
                "mimsLevel": "P4",
                "mimsRecoveryEmail": "parent@example.org",
            },
        )
        # Before version 7 ou and o were SCIM's enterprise department and organization.
        admin.add(
            TEACHER,
            ["inetOrgPerson", "mimsPerson"],
            {
                "cn": "Siti Rahmah",
                "givenName": "Siti",
                "sn": "Rahmah",
                "displayName": "Cikgu Siti",
                "mail": "siti_rahmah@schools.gov.sg",
                "mimsRole": "staff",
                "mimsSchool": "Clementi Primary School",
                "ou": "Mathematics",
                "o": "MOE",
            },
        )
    server.stop()
    yield server
    server.stop()


def version_on_suffix(server: ManagedSlapd) -> int:
    with admin_connection(server) as admin:
        admin.search(SUFFIX, "(objectClass=*)", ldap3.BASE, attributes=["mimsSchemaVersion"])
        return int(admin.entries[0].mimsSchemaVersion.value)


def test_the_v1_fixture_really_is_version_1(v1_folder: ManagedSlapd) -> None:
    assert json.loads(v1_folder.layout.marker.read_text())["schema_version"] == 1
    names = schema_upgrade.shipped_definitions(V1_SCHEMA)["olcObjectClasses"]
    assert not any("mimsSyncTarget" in name for name in names)
    database = v1_folder.layout.config_dir / "cn=config" / "olcDatabase={1}mdb.ldif"
    assert "olcDbEnvFlags" not in database.read_text()


def loaded_modules_and_overlays(server: ManagedSlapd) -> tuple[set[str], set[str]]:
    with admin_connection(server) as admin:
        admin.search("cn=config", "(objectClass=olcModuleList)", attributes=["olcModuleLoad"])
        # A value is "{n}file.la", then the module's arguments (argon2's cost) if any.
        modules = {v.split("}", 1)[1].split()[0] for v in admin.entries[0].olcModuleLoad.values}
        admin.search("cn=config", "(objectClass=olcOverlayConfig)", attributes=["olcOverlay"])
        return modules, {str(e.olcOverlay.value).split("}", 1)[1] for e in admin.entries}


def test_starting_a_v1_folder_adds_the_deref_overlay(v1_folder: ManagedSlapd) -> None:
    v1_folder.start(free_port())
    modules, overlays = loaded_modules_and_overlays(v1_folder)
    assert "deref.la" in modules and "deref" in overlays
    assert modules == {f"{name}.la" for name in slapd_config.MODULES}
    assert overlays == {name for name, _ in slapd_config.overlays(SUFFIX)}


def environment_flags(server: ManagedSlapd) -> dict[str, list[str]]:
    with admin_connection(server) as admin:
        admin.search(
            "cn=config", "(objectClass=olcMdbConfig)", attributes=["olcSuffix", "olcDbEnvFlags"]
        )
        return {str(e.olcSuffix.value): list(e.olcDbEnvFlags.values) for e in admin.entries}


def test_an_upgrade_writes_both_databases_through_a_writable_map(v1_folder: ManagedSlapd) -> None:
    fresh = ManagedSlapd(v1_folder.layout.root.parent / "fresh", SUFFIX, no_sync=True)
    fresh.init()
    fresh.start(free_port())
    try:
        assert environment_flags(fresh) == {SUFFIX: ["writemap"], "cn=accesslog": ["writemap"]}
    finally:
        fresh.stop()
    v1_folder.start(free_port())
    assert environment_flags(v1_folder) == {SUFFIX: ["writemap"], "cn=accesslog": ["writemap"]}
    # Applied without a restart (slapd reopened the database), and written to disk for good.
    with admin_connection(v1_folder) as admin:
        assert admin.modify(PERSON, {"description": [(ldap3.MODIFY_REPLACE, ["mapped"])]})
    v1_folder.stop()
    v1_folder.start(free_port())
    with admin_connection(v1_folder) as admin:
        admin.search(PERSON, "(objectClass=*)", ldap3.BASE, attributes=["description"])
        assert admin.entries[0].description.value == "mapped"


def test_an_upgraded_folder_logs_writes_made_over_ldap(v1_folder: ManagedSlapd) -> None:
    assert not list(accesslog.events(v1_folder))  # not running: nothing to read, no error
    v1_folder.start(free_port())
    assert v1_folder.layout.accesslog_dir.is_dir()
    with admin_connection(v1_folder) as admin:
        assert admin.modify(PERSON, {"description": [(ldap3.MODIFY_REPLACE, ["by hand"])]})
    event = list(accesslog.events(v1_folder))[-1]
    assert (event.operation, event.attributes, event.login) == (
        "ldap.modify",
        ("description",),
        "mary_tan@students.edu.sg",
    )
    assert event.outcome == "success" and event.actor == f"uid {os.getuid()} over ldapi"


def test_starting_a_v1_folder_upgrades_it_and_keeps_the_data(v1_folder: ManagedSlapd) -> None:
    v1_folder.start(free_port(), free_port())
    assert (
        json.loads(v1_folder.layout.marker.read_text())["schema_version"]
        == slapd_config.schema_version()
    )
    assert version_on_suffix(v1_folder) == slapd_config.schema_version()
    with admin_connection(v1_folder) as admin:
        admin.search(PERSON, "(objectClass=*)", ldap3.BASE, attributes=["mail", "mimsLevel"])
        assert admin.entries[0].mimsLevel.value == "P4"
    # The bridge's own account writes sync state in the new OU.
    server = ldaps_server(v1_folder)
    with closing(
        ldap3.Connection(
            server,
            v1_folder.service_dn,
            v1_folder.service_password(),
            auto_bind=True,
            raise_exceptions=True,
        )
    ) as bridge:
        target = dn.sync_target_dn("zoom", SUFFIX)
        bridge.add(target, ["mimsSyncTarget"], {"cn": "zoom", "mimsSyncCookie": b"rid=000"})
        letter = dn.dead_letter_dn("0b6f-uuid", "zoom", SUFFIX)
        bridge.add(
            letter,
            ["mimsSyncDeadLetter"],
            {"mimsSyncChangeKind": "person:present", "mimsSyncReason": "400 bad name"},
        )
        group = f"cn=p4,ou=groups,{SUFFIX}"
        bridge.add(
            group,
            ["groupOfNames", "mimsGroupAddress"],
            {"cn": "p4", "member": PERSON, "mail": "p4@students.edu.sg"},
        )
        # A group's address must not be a person's login ID (the unique rule now covers it).
        with pytest.raises(LDAPConstraintViolationResult):
            bridge.add(
                f"cn=clash,ou=groups,{SUFFIX}",
                ["groupOfNames", "mimsGroupAddress"],
                {"cn": "clash", "member": PERSON, "mail": "mary_tan@students.edu.sg"},
            )


def test_an_upgrade_brings_service_roles_and_least_privilege(v1_folder: ManagedSlapd) -> None:
    v1_folder.start(free_port())
    with admin_connection(v1_folder) as admin:
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        assert admin.entries[0].olcAccess.values == slapd_config.access_rules(SUFFIX)
        reader = dn.role_group_dn("reader", SUFFIX)
        admin.search(reader, "(objectClass=*)", ldap3.BASE, attributes=["member"])
        assert HAND_MADE in admin.entries[0].member.values  # the hand-made account reads on
        policy = slapd_config.default_policy_dn(SUFFIX)
        admin.search(policy, "(objectClass=*)", ldap3.BASE, attributes=["pwdAllowUserChange"])
        assert admin.entries[0].pwdAllowUserChange.value == "FALSE"
    with bound(v1_folder, HAND_MADE, "gcds-secret-of-old") as gcds:
        gcds.search(PERSON, "(objectClass=*)", ldap3.BASE, attributes=["mail", "mimsRecoveryEmail"])
        # Before the upgrade it read the recovery address too.
        raw = gcds.response[0]["raw_attributes"]
        assert {name for name, values in raw.items() if values} == {"mail"}


def test_an_upgraded_folder_keeps_client_user_names_unique_without_regard_to_case(
    v1_folder: ManagedSlapd,
) -> None:
    v1_folder.start(free_port())
    with admin_connection(v1_folder) as admin:
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcDbIndex"])
        assert "mimsUserName eq,sub" in admin.entries[0].olcDbIndex.values
        admin.search(PERSON, "(objectClass=*)", ldap3.BASE, attributes=["objectClass"])
        assert "mimsScimPerson" in admin.entries[0].objectClass.values  # version 3's class
        assert "mimsScimRemovals" in admin.entries[0].objectClass.values  # version 4's
        admin.modify(
            PERSON,
            {
                "mimsUserName": [(ldap3.MODIFY_REPLACE, ["Mary.Tan@Example.org"])],
                "mimsMiddleName": [(ldap3.MODIFY_REPLACE, ["Li"])],
                "mimsScimRemoved": [(ldap3.MODIFY_REPLACE, ["active", "name"])],
            },
        )
        other = f"uid=mary_tan_1,ou=students,ou=people,{SUFFIX}"
        with pytest.raises(LDAPConstraintViolationResult):
            admin.add(
                other,
                ["inetOrgPerson", "mimsPerson", "mimsScimPerson"],
                {
                    "cn": "Mary Tan",
                    "sn": "Tan",
                    "mail": "mary_tan_1@students.edu.sg",
                    "mimsUserName": "mary.tan@example.ORG",
                },
            )


PLACED = ["displayName", "sn", "o", "ou", "employeeType", "mimsDepartment", "mimsOrganization"]


def placed(server: ManagedSlapd, entry: str) -> dict[str, list[str]]:
    """Return version 7's attributes of a person, and the entry's change sequence number."""
    with admin_connection(server) as admin:
        admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=[*PLACED, "entryCSN"])
        raw = admin.response[0]["raw_attributes"]
        return {name: [v.decode() for v in values] for name, values in raw.items() if values}


def test_an_upgrade_gives_people_what_consumers_read_and_keeps_what_clients_sent(
    v1_folder: ManagedSlapd,
) -> None:
    v1_folder.start(free_port())
    teacher, student = placed(v1_folder, TEACHER), placed(v1_folder, PERSON)
    assert {name: values for name, values in teacher.items() if name != "entryCSN"} == {
        "displayName": ["Cikgu Siti"],  # given: kept
        "sn": ["Rahmah"],
        "o": ["Clementi Primary School"],  # now the school
        "ou": ["Mathematics"],  # staff: the department
        "employeeType": ["staff"],
        "mimsDepartment": ["Mathematics"],  # what ou and o held before
        "mimsOrganization": ["MOE"],
    }
    assert {name: values for name, values in student.items() if name != "entryCSN"} == {
        "displayName": ["Mary Tan"],  # none given: the full name
        "sn": ["Tan"],
        "employeeType": ["student"],  # from the OU, as version 1 wrote no mimsRole
    }
    # A second upgrade (the version put back, as after a crash before the marker) finds
    # everyone placed and changes nobody.
    v1_folder.stop()
    marker = json.loads(v1_folder.layout.marker.read_text())
    v1_folder.layout.marker.write_text(json.dumps(marker | {"schema_version": 6}))
    v1_folder.start(free_port())
    assert (placed(v1_folder, TEACHER), placed(v1_folder, PERSON)) == (teacher, student)


def test_an_upgrade_that_fails_midway_leaves_version_1_and_is_retried(
    v1_folder: ManagedSlapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise SlapdError("the disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(schema_upgrade, "_set_unique_rules", refuse)
        with pytest.raises(SlapdError, match="the disk is full"):
            v1_folder.start(free_port())
    assert v1_folder.pid() is None
    assert json.loads(v1_folder.layout.marker.read_text())["schema_version"] == 1
    v1_folder.start(free_port())  # the schema half is there already; the rest runs again
    assert version_on_suffix(v1_folder) == slapd_config.schema_version()
    assert v1_folder.upgrade() is False


def test_an_upgrade_leaves_nothing_deprecated_in_the_configuration(v1_folder: ManagedSlapd) -> None:
    def warnings() -> str:
        command = ["slaptest", "-u", "-F", str(v1_folder.layout.config_dir)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stderr

    assert "deprecated" in warnings()
    v1_folder.start(free_port())
    v1_folder.stop()
    assert "deprecated" not in warnings()


def test_a_folder_from_a_newer_version_is_still_refused(v1_folder: ManagedSlapd) -> None:
    marker = json.loads(v1_folder.layout.marker.read_text())
    marker["schema_version"] = 99
    v1_folder.layout.marker.write_text(json.dumps(marker))
    with pytest.raises(SlapdError, match="made by a newer mims-bridge"):
        v1_folder.start(free_port())


def test_every_schema_definition_has_an_oid_and_none_is_reused() -> None:
    shipped = schema_upgrade.shipped_definitions()
    old = schema_upgrade.shipped_definitions(V1_SCHEMA)
    for name, definitions in shipped.items():
        oids = [schema_upgrade.oid_of(value) for value in definitions]
        assert len(oids) == len(set(oids))
        by_oid = dict(zip(oids, definitions, strict=True))
        for definition in old[name]:  # only ever added, or retired (OBSOLETE) under its OID
            kept = by_oid[schema_upgrade.oid_of(definition)]
            assert kept == definition or " OBSOLETE " in kept
