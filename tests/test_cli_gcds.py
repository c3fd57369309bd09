"""`mims check gcds` against the session slapd: entries made by the writer and, for the broken
cases the writer refuses to make, by hand over LDAP as a sysadmin might."""

from __future__ import annotations

import json

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.services import Services
from tests.support.cli import mims
from tests.support.directory import SUFFIX

STUDENTS = f"ou=students,ou=people,{SUFFIX}"
STAFF = f"ou=staff,ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PERSON = ["inetOrgPerson", "mimsPerson"]
# draft-zeilenga-ldap-relax: lets the rootDN past the unique overlay (manageDsaIt does not).
RELAX = ("1.3.6.1.4.1.4203.666.5.12", True, None)


@pytest.fixture
def env(config: Config, directory: LdapClient) -> dict[str, str]:
    """Point `mims` at the session's slapd; the directory fixture empties it afterwards."""
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(config.slapd.data_dir.parent)}


def add(admin: ldap3.Connection, dn: str, **attributes: object) -> None:
    assert admin.add(dn, attributes=attributes), admin.result


def test_writer_made_people_and_groups_are_clean(services: Services, env: dict[str, str]) -> None:
    people = services.people
    people.create(
        NewPerson(
            full_name="Mary Tan",
            role="student",
            external_id="T1",
            school="Clementi Primary School",
            level="P4",
            class_name="4A",
        )
    )
    people.create(NewPerson(full_name="Rajesh s/o Kumar", role="hq", external_id="H1"))

    clean = mims("check", "gcds", "--no-groups", env=env)
    assert (clean.returncode, clean.stdout) == (
        0,
        "no problems: 2 people are ready for GCDS\n",
    ), clean.stderr

    # The school, level and class groups were made with their addresses, and Mary is in each.
    groups = mims("check", "gcds", env=env)
    assert (groups.returncode, groups.stdout) == (
        0,
        "no problems: 2 people and 3 groups are ready for GCDS\n",
    ), groups.stderr


def test_every_kind_of_problem_is_listed_once_with_its_reason(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection, env: dict[str, str]
) -> None:
    mary = services.people.create(
        NewPerson(
            full_name="Mary Tan", role="student", external_id="T1", school="Clementi Primary School"
        )
    )
    mary_dn = people_store.dn_of(mary.id)
    services.people.create(NewPerson(full_name="Lee Ann", role="student", external_id="T2"))
    people_store.groups.create("Chess Club", None, [])  # nobody in it: no problem (no member)
    # What the writer never makes: a sysadmin's hand-made entries.
    add(admin, f"cn=Old Group,{GROUPS}", objectClass="mimsGroup", cn="Old Group", member=mary_dn)
    add(
        admin,
        f"uid=no_mail,{STUDENTS}",
        objectClass=PERSON,
        uid="no_mail",
        cn="No Mail",
        sn="Mail",
        mimsRole="student",
        mimsSchool="Clementi Primary School",
    )
    add(
        admin,
        f"uid=outsider,{STAFF}",
        objectClass=PERSON,
        uid="outsider",
        cn="Out Sider",
        sn="Sider",
        mail="outsider@gmail.com",
        mimsRole="staff",
        mimsSchool="Clementi Primary School",
    )
    # Our unique rule (mail across the tree, schema 2) refuses this address: a directory
    # without it (one run elsewhere) can hold it; the relax control lets the rootDN past it.
    assert admin.add(
        f"cn=Mary's Fans,{GROUPS}",
        attributes={
            "objectClass": ["mimsGroup"],
            "cn": "Mary's Fans",
            "mail": "MARY_TAN@students.edu.sg",
            "member": [mary_dn],
        },
        controls=[RELAX],
    ), admin.result

    result = mims("check", "gcds", env=env)
    assert result.returncode == 1, result.stderr
    *lines, closing = result.stdout.splitlines()
    assert sorted(lines) == sorted(
        [
            f"no-mail         uid=no_mail,{STUDENTS}  has no mail: GCDS skips a person without one",
            f"foreign-domain  uid=outsider,{STAFF}  mail outsider@gmail.com is not in a "
            "configured domain (groups.schools.gov.sg, hq.moe.gov.sg, schools.gov.sg, "
            "students.edu.sg): "
            "Google refuses the user",
            f"no-school       uid=lee_ann,{STUDENTS}  a student without mimsSchool: "
            "GCDS puts them in the fallback org unit",
            f"duplicate-mail  cn=Mary's Fans,{GROUPS}  mail MARY_TAN@students.edu.sg is already "
            f"{mary_dn}'s (letter case aside): Google keeps one address for one user or group",
            f"group-no-mail   cn=Old Group,{GROUPS}  has no mail: GCDS skips a group without one "
            "(`mims group addresses` gives it one)",
        ]
    )
    assert closing == (
        "5 problems (1 no-mail, 1 foreign-domain, 1 duplicate-mail, 1 no-school, "
        "1 group-no-mail) in 4 people and 4 groups"
    )

    as_json = mims("check", "gcds", "--json", "--no-groups", env=env)
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["checked"] == {"people": 4, "groups": 0}
    assert document["counts"] == {"no-mail": 1, "foreign-domain": 1, "no-school": 1}
    assert {"kind": "no-mail", "dn": f"uid=no_mail,{STUDENTS}"}.items() <= next(
        p for p in document["problems"] if p["kind"] == "no-mail"
    ).items()


def test_the_workspace_domains_can_be_named(services: Services, env: dict[str, str]) -> None:
    services.people.create(NewPerson(full_name="Rajesh Kumar", role="hq", external_id="H1"))
    other = mims("check", "gcds", "--domain", "students.edu.sg", env=env)
    assert other.returncode == 1
    assert "mail rajesh_kumar@hq.moe.gov.sg is not in a configured domain (students.edu.sg)" in (
        other.stdout
    )
    same = mims("check", "gcds", "--domain", "HQ.moe.gov.sg", "--json", env=env)
    assert (same.returncode, json.loads(same.stdout)["problems"]) == (0, [])


def test_an_unreachable_directory_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    broken = env | {"MIMS_LDAP_URL": "ldaps://127.0.0.1:1", "MIMS_LDAP_PASSWORD": "x"}
    result = mims("check", "gcds", env=broken)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
