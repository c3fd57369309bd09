"""Who reads and writes what: real binds as every identity against the test slapd's ACLs.

Identities: the bridge's own account, one service account per role (made by the real store),
a student, a staff member and anonymous. The person they look at, Mary, has every sensitive
attribute set for real (a password history from a change, a failure time from a wrong bind,
a lock, answers, a recovery address), so "cannot read" never passes for want of a value.
docs/security.md shows the same matrix as a table.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson, Person, Role
from bridge.core.service_accounts import ROLES, new_secret
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.service_accounts import ServiceAccountStore
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Services
from tests.support.directory import SUFFIX, bound

GOOD = "Sunny7Garden42"
NEWER = "Purple9Rocket31"
IDENTITIES = ("bridge", *ROLES, "student", "staff", "anonymous")
SERVICES = ("bridge", "writer")  # what the bridge works with is theirs alone

# Attribute of another person (Mary) -> the identities that read it.
PERSON_READERS: dict[str, set[str]] = {
    **dict.fromkeys(
        ("objectClass", "mail", "givenName", "sn", "displayName", "entryUUID", "mimsSchool"),
        {*SERVICES, "reader", "gcds", "sso"},
    ),
    **dict.fromkeys(
        (
            "uid",
            "cn",
            "mimsRole",
            "mimsLevel",
            "mimsClass",
            "memberOf",
            "uidNumber",
            "gidNumber",
            "homeDirectory",
            "loginShell",
        ),
        {*SERVICES, "reader", "sso"},
    ),
    # What SSO tools and readers map: school(s), class or department, role, title, and the
    # department and organization a provisioning client sent.
    **dict.fromkeys(
        (
            "o",
            "ou",
            "employeeType",
            "title",
            "mimsDepartment",
            "mimsOrganization",
            "mimsOtherSchool",
        ),
        {*SERVICES, "reader", "sso"},
    ),
    "mimsDisabled": {*SERVICES, "reader", "gcds", "sso"},
    "shadowExpire": {*SERVICES, "reader", "gcds", "sso"},
    "pwdAccountLockedTime": {*SERVICES, "sso"},
    "pwdReset": {*SERVICES, "sso"},
    **dict.fromkeys(
        (
            "mimsRecoveryEmail",
            "mimsChallengeAnswer",
            "pwdFailureTime",
            "mimsSsprFailures",
            "mimsExternalId",
            "pwdPolicySubentry",
        ),
        set(SERVICES),
    ),
    "userPassword": set(),
    "pwdHistory": set(),
}
# What a person reads of their own entry: the public part only.
OWN_READABLE = {name for name, readers in PERSON_READERS.items() if "reader" in readers} - {
    "mimsDisabled",
    "shadowExpire",
}
GROUP_READERS: dict[str, set[str]] = dict.fromkeys(
    ("objectClass", "cn", "member", "mail", "entryUUID"), {*SERVICES, *ROLES}
)


@pytest.fixture(scope="module")
def accounts(config: Config, slapd: ManagedSlapd) -> Iterator[dict[str, tuple[str, str]]]:
    """Make one service account per role through the real store; revoke them at the end."""
    client = LdapClient(client_settings(config))
    store = ServiceAccountStore(client, SUFFIX)
    made = {}
    for role in ROLES:
        secret = new_secret()
        made[role] = (store.create(f"matrix-{role}", role, secret).dn, secret)
    yield made | {"bridge": (slapd.service_dn, slapd.service_password())}
    for role in ROLES:
        store.revoke(f"matrix-{role}")
    client.close()


def person(services: Services, name: str, role: Role, external_id: str) -> Person:
    given, family = name.split()
    return services.people.create(
        NewPerson(
            full_name=name,
            given_name=given,
            family_name=family,
            display_name=name,
            role=role,
            external_id=external_id,
            school="Clementi Primary School",
            level="P4" if role == "student" else None,
            class_name="4A" if role == "student" else None,
            department="Lower Primary" if role == "student" else "Mathematics",
            organization="MOE",
            title="Pupil" if role == "student" else "Teacher",
            password=GOOD,
        )
    )


def person_dn(someone: Person) -> str:
    return dn.person_dn(someone.login_id.local, someone.role, SUFFIX)


def give_secrets(services: Services, admin: ldap3.Connection, slapd: ManagedSlapd, who: Person):
    """Give a person every sensitive attribute, each made the way it is made in real use."""
    services.passwords.set_password(who, NEWER)  # GOOD goes into pwdHistory
    with pytest.raises(AssertionError, match="invalidCredentials"):
        with bound(slapd, person_dn(who), "wrong"):  # gives pwdFailureTime
            pass
    admin.modify(
        person_dn(who),
        {
            "mimsRecoveryEmail": [(ldap3.MODIFY_REPLACE, ["parent@example.org"])],
            "mimsChallengeAnswer": [(ldap3.MODIFY_REPLACE, ["q1:$argon2id$v=19$hash"])],
            "mimsSsprFailures": [(ldap3.MODIFY_REPLACE, ["1"])],
            "mimsDisabled": [(ldap3.MODIFY_REPLACE, ["FALSE"])],
            "shadowExpire": [(ldap3.MODIFY_REPLACE, ["99999"])],  # readable, yet not expired
            # as a teacher's would be: a person with every attribute
            "mimsOtherSchool": [(ldap3.MODIFY_REPLACE, ["Bedok Secondary School"])],
        },
    )


@pytest.fixture
def people(services: Services, admin: ldap3.Connection, slapd: ManagedSlapd) -> dict[str, Person]:
    """Mary (the one looked at, locked and due a change), Peter (a student), Sarah (staff)."""
    mary = person(services, "Mary Tan", "student", "T1")
    peter = person(services, "Peter Lim", "student", "T2")
    sarah = person(services, "Sarah Ong", "staff", "S1")
    give_secrets(services, admin, slapd, mary)
    give_secrets(services, admin, slapd, peter)
    admin.modify(
        person_dn(mary),
        {
            "pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, ["000001010000Z"])],
            "pwdReset": [(ldap3.MODIFY_REPLACE, ["TRUE"])],
        },
    )
    return {"mary": mary, "student": peter, "staff": sarah}


def credentials(
    identity: str, accounts: dict[str, tuple[str, str]], people: dict[str, Person]
) -> tuple[str | None, str]:
    if identity == "anonymous":
        return None, ""
    if identity in ("student", "staff"):
        return person_dn(people[identity]), NEWER if identity == "student" else GOOD
    return accounts[identity]


def readable(connection: ldap3.Connection, entry: str, names: list[str]) -> set[str]:
    """Return which of ``names`` the connection reads on ``entry`` (none if it sees no entry)."""
    connection.search(entry, "(objectClass=*)", ldap3.BASE, attributes=names)
    found = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
    if not found:
        return set()
    wanted = {name.lower(): name for name in names}
    return {wanted[key.lower()] for key, values in found[0]["raw_attributes"].items() if values}


def test_mary_really_has_every_attribute_of_the_matrix(
    people: dict[str, Person], admin: ldap3.Connection
) -> None:
    names = list(PERSON_READERS)
    assert readable(admin, person_dn(people["mary"]), names) == set(names)


@pytest.mark.parametrize("identity", IDENTITIES)
def test_what_each_identity_reads_of_another_person(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    expected = {name for name, readers in PERSON_READERS.items() if identity in readers}
    with bound(slapd, *credentials(identity, accounts, people)) as connection:
        assert readable(connection, person_dn(people["mary"]), list(PERSON_READERS)) == expected


@pytest.mark.parametrize("identity", IDENTITIES)
def test_what_each_identity_reads_of_a_group(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    group = next(g for g in people["mary"].groups if g.endswith("4A") or "4a" in g.lower())
    expected = {name for name, readers in GROUP_READERS.items() if identity in readers}
    with bound(slapd, *credentials(identity, accounts, people)) as connection:
        assert readable(connection, dn.group_dn(group, SUFFIX), list(GROUP_READERS)) == expected


@pytest.mark.parametrize("identity", ["student", "staff"])
def test_a_person_reads_only_the_public_part_of_their_own_entry(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    admin: ldap3.Connection,
    slapd: ManagedSlapd,
) -> None:
    own = person_dn(people[identity])
    present = readable(admin, own, list(PERSON_READERS))
    if identity == "student":  # Peter has every secret too: refused, not merely absent
        assert {"userPassword", "pwdHistory", "pwdFailureTime", "mimsRecoveryEmail"} <= present
    with bound(slapd, *credentials(identity, accounts, people)) as connection:
        assert readable(connection, own, list(PERSON_READERS)) == OWN_READABLE & present


@pytest.mark.parametrize("identity", IDENTITIES)
def test_what_each_identity_sees_of_the_tree(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    who, password = credentials(identity, accounts, people)
    with bound(slapd, who, password) as connection:
        connection.search(SUFFIX, "(objectClass=*)", attributes=["1.1"])
        seen = {e["dn"].lower() for e in connection.response or [] if e["type"] == "searchResEntry"}
    services = {entry for entry in seen if entry.endswith(dn.services_base(SUFFIX))}
    policies = {entry for entry in seen if entry.endswith(f"ou=policies,{SUFFIX}")}
    if identity in SERVICES:
        assert person_dn(people["mary"]).lower() in seen and policies
    if identity == "bridge":  # accounts, roles, tokens, sync state: the bridge's alone
        assert {a.lower() for a, _ in accounts.values()} | {dn.roles_base(SUFFIX)} <= services
        # Parents' requests (their contacts): no role sees even the OU.
        assert dn.requests_base(SUFFIX).lower() in services
    elif identity in ROLES:  # people and groups; of ou=services its own entry (and a
        # writer, as a second bridge, the tokens and sync state), never accounts or roles
        assert {SUFFIX, person_dn(people["mary"]).lower()} <= seen
        bridges = (dn.tokens_base(SUFFIX), dn.sync_base(SUFFIX))
        grants = dn.admins_base(SUFFIX).lower()
        # A reader sees administrators' grants (ou=admins); nobody else of the roles does.
        assert (grants in seen) == (identity == "reader")
        others = {e for e in services if not e.endswith(grants)}
        assert {e for e in others if identity != "writer" or not e.endswith(bridges)} == {
            str(who).lower()
        }
        # An SSO tool reads whether a policy locks (SSSD's ppolicy check); only the writer more.
        assert identity in ("writer", "sso") or not policies
    else:  # people see no tree: only their own entry, by its DN
        assert seen == set()


WRITES = {
    "givenName": "Maria",
    "mail": "maria_tan@students.edu.sg",
    "mimsRecoveryEmail": "other@example.org",
    "mimsDisabled": "TRUE",
    "userPassword": "Golden5Meadow88",
}


@pytest.mark.parametrize("attribute", list(WRITES))
@pytest.mark.parametrize("identity", IDENTITIES)
def test_only_the_bridge_and_writers_change_a_person(
    identity: str,
    attribute: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    target = person_dn(people["mary"])
    with bound(slapd, *credentials(identity, accounts, people)) as connection:
        connection.modify(target, {attribute: [(ldap3.MODIFY_REPLACE, [WRITES[attribute]])]})
        result = connection.result["description"]
    assert (result == "success") == (identity in SERVICES), result


@pytest.mark.parametrize("identity", ["student", "staff"])
def test_nobody_changes_their_own_entry_over_ldap(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    who, password = credentials(identity, accounts, people)
    assert who is not None
    with bound(slapd, who, password) as connection:
        connection.modify(who, {"givenName": [(ldap3.MODIFY_REPLACE, ["Someone"])]})
        assert connection.result["description"] == "insufficientAccessRights"


@pytest.mark.parametrize("identity", ROLES)
def test_a_service_account_cannot_change_its_own_secret_or_role(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    who, password = accounts[identity]
    with bound(slapd, who, password) as connection:
        connection.extend.standard.modify_password(who, password, new_secret())
        assert connection.result["description"] == "insufficientAccessRights"
        writer = dn.role_group_dn("writer", SUFFIX)
        connection.modify(writer, {"member": [(ldap3.MODIFY_ADD, [who])]})
        assert connection.result["description"] in ("insufficientAccessRights", "noSuchObject")
    with bound(slapd, who, password):  # the old secret still binds
        pass


# -- people's own passwords: refused over LDAP, and the policy entries say so ----------------


def test_the_policy_entries_do_not_allow_own_changes(admin: ldap3.Connection) -> None:
    admin.search(
        f"ou=policies,{SUFFIX}", "(objectClass=pwdPolicy)", attributes=["pwdAllowUserChange"]
    )
    assert len(admin.entries) >= 2  # the configured policies and the default one
    assert {str(entry.pwdAllowUserChange.value) for entry in admin.entries} == {"FALSE"}


@pytest.mark.parametrize("identity", [i for i in IDENTITIES if i not in ("bridge", "writer")])
def test_of_a_policy_only_an_sso_tool_reads_anything_and_only_whether_it_locks(
    identity: str,
    accounts: dict[str, tuple[str, str]],
    people: dict[str, Person],
    slapd: ManagedSlapd,
) -> None:
    policy = dn.policy_dn("mims", SUFFIX)
    names = ["pwdLockout", "pwdLockoutDuration", "pwdMaxFailure", "pwdMinLength", "pwdAttribute"]
    with bound(slapd, *credentials(identity, accounts, people)) as connection:
        seen = readable(connection, policy, names)
    assert seen == ({"pwdLockout"} if identity == "sso" else set())


def test_a_person_cannot_change_their_own_password_with_the_password_modify_operation(
    accounts: dict[str, tuple[str, str]], people: dict[str, Person], slapd: ManagedSlapd
) -> None:
    who, password = credentials("student", accounts, people)
    assert who is not None
    with bound(slapd, who, password) as connection:
        connection.extend.standard.modify_password(who, password, "Golden5Meadow88")
        assert connection.result["description"] == "insufficientAccessRights"
    with bound(slapd, who, password):  # unchanged
        pass


def test_a_person_cannot_change_their_own_password_with_ldappasswd(
    accounts: dict[str, tuple[str, str]], people: dict[str, Person], slapd: ManagedSlapd
) -> None:
    who, password = credentials("staff", accounts, people)
    assert who is not None
    command = ["ldappasswd", "-x", "-H", slapd.ldapi_url, "-D", who, "-w", password]
    result = subprocess.run(
        [*command, "-a", password, "-s", "Golden5Meadow88"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Insufficient access (50)" in result.stdout
    with bound(slapd, who, password):
        pass


def test_a_writer_s_password_changes_still_meet_the_policy(
    accounts: dict[str, tuple[str, str]], people: dict[str, Person], slapd: ManagedSlapd
) -> None:
    with bound(slapd, *accounts["writer"]) as connection:
        target = person_dn(people["mary"])
        connection.modify(target, {"userPassword": [(ldap3.MODIFY_REPLACE, [GOOD])]})
        assert connection.result["description"] == "constraintViolation"  # GOOD is in history
        connection.modify(target, {"userPassword": [(ldap3.MODIFY_REPLACE, ["short"])]})
        assert connection.result["description"] == "constraintViolation"  # too short
