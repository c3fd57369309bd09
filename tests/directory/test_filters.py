"""Query -> one LDAP filter: every operator, escaping, refusals, and slapd answering them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import ldap3
import pytest

from bridge.core.query import ALL, NOTHING, And, Compare, InvalidFilter, Not, Or, Present, Query
from bridge.directory.client import LdapClient
from bridge.directory.filters import MATCH_ALL, MATCH_NONE, to_ldap
from bridge.scim.filters import parse_filter
from tests.support.directory import SUFFIX

MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
UUID = "2819c223-7f76-453a-919d-413861904646"


def user(text: str) -> str:
    return to_ldap(parse_filter(text, "User"), "User")


# SCIM filter text on /Users -> the exact LDAP filter.
USER_FILTERS = [
    # every operator
    ('userName eq "mary@school.edu"', "(mail=mary@school.edu)"),
    ('userName ne "mary@school.edu"', "(!(mail=mary@school.edu))"),
    ('userName co "mary"', "(mail=*mary*)"),
    ('userName sw "mary"', "(mail=mary*)"),
    ('userName ew "@school.edu"', "(mail=*@school.edu)"),
    ("userName pr", "(mail=*)"),
    (f'{MIMS}:level gt "P3"', "(&(mimsLevel>=P3)(!(mimsLevel=P3)))"),
    (f'{MIMS}:level ge "P3"', "(mimsLevel>=P3)"),
    (f'{MIMS}:level lt "P3"', "(&(mimsLevel<=P3)(!(mimsLevel=P3)))"),
    (f'{MIMS}:level le "P3"', "(mimsLevel<=P3)"),
    # logic and precedence: and binds tighter than or, not over both
    (
        'userName eq "a" or userName eq "b" and displayName pr',
        "(|(mail=a)(&(mail=b)(displayName=*)))",
    ),
    (
        '(userName eq "a" or userName eq "b") and displayName pr',
        "(&(|(mail=a)(mail=b))(displayName=*))",
    ),
    (
        'userName eq "a" and displayName pr and name.givenName pr',
        "(&(mail=a)(displayName=*)(givenName=*))",
    ),
    ('not (userName sw "m") and not (displayName pr)', "(&(!(mail=m*))(!(displayName=*)))"),
    ('not (userName eq "a" or userName eq "b")', "(!(|(mail=a)(mail=b)))"),
    # every attribute
    (f'id eq "{UUID}"', f"(entryUUID={UUID})"),
    ('externalId eq "A1"', "(mimsExternalId=A1)"),
    ('externalId sw "A"', "(mimsExternalId=A*)"),
    ('externalId gt "A1"', "(&(mimsExternalId>=A1)(!(mimsExternalId=A1)))"),
    ('name.givenName eq "Mary"', "(givenName=Mary)"),
    ('name.familyName eq "Tan"', "(sn=Tan)"),
    ('name.formatted co "Tan"', "(cn=*Tan*)"),
    ('displayName eq "Mary"', "(displayName=Mary)"),
    ('emails[type eq "work"].value eq "mary@school.edu"', "(mail=mary@school.edu)"),
    ('emails[type eq "work" and value co "@school"]', "(mail=*@school*)"),
    ('emails[type eq "work"]', "(mail=*)"),
    ('emails[type eq "home"]', MATCH_NONE),
    ('emails[not (value eq "a@b")]', "(&(mail=*)(!(mail=a@b)))"),
    ('emails.value sw "m"', "(mail=m*)"),
    (f'{ENTERPRISE}:employeeNumber eq "7"', "(employeeNumber=7)"),
    (f'{ENTERPRISE}:department eq "Science"', "(mimsDepartment=Science)"),
    (f'{ENTERPRISE}:organization eq "MIMS"', "(mimsOrganization=MIMS)"),
    (f'{ENTERPRISE}:organization lt "N"', "(&(mimsOrganization<=N)(!(mimsOrganization=N)))"),
    ('title co "Head"', "(title=*Head*)"),
    # any of a person's schools: o holds them all
    (f'{MIMS}:school eq "North"', "(o=North)"),
    (f'{MIMS}:school sw "North"', "(o=North*)"),
    (f'{MIMS}:className eq "4A"', "(mimsClass=4A)"),
    (f'{MIMS}:role eq "student"', "(mimsRole=student)"),
    (f'{MIMS}:loginId eq "m@x"', "(mail=m@x)"),
    # booleans
    ("active eq true", "(!(mimsDisabled=TRUE))"),
    ("active eq false", "(mimsDisabled=TRUE)"),
    ("active ne true", "(mimsDisabled=TRUE)"),
    ("active ne false", "(!(mimsDisabled=TRUE))"),
    ("active pr", MATCH_ALL),
    ("not (active pr)", MATCH_NONE),
    (f"{MIMS}:locked eq true", "(pwdAccountLockedTime=*)"),
    (f"{MIMS}:locked eq false", "(!(pwdAccountLockedTime=*))"),
    (f"{MIMS}:answersSet eq true", "(mimsChallengeAnswer=*)"),
    (f"{MIMS}:answersSet eq false", "(!(mimsChallengeAnswer=*))"),
    # dates: GeneralizedTime in UTC, fractions kept
    (
        'meta.created gt "2024-01-31T08:00:00Z"',
        "(&(createTimestamp>=20240131080000Z)(!(createTimestamp=20240131080000Z)))",
    ),
    ('meta.lastModified ge "2024-01-31T16:00:00+08:00"', "(modifyTimestamp>=20240131080000Z)"),
    ('meta.lastModified le "2024-01-31T08:00:00.250Z"', "(modifyTimestamp<=20240131080000.25Z)"),
    ('meta.created eq "2024-01-31T08:00:00"', "(createTimestamp=20240131080000Z)"),
    # null
    ("displayName eq null", "(!(displayName=*))"),
    ("displayName ne null", "(displayName=*)"),
    # values slapd would find Undefined are decided here, so "ne" and "not" still work
    ('id eq "not-a-uuid"', MATCH_NONE),
    ('id ne "not-a-uuid"', MATCH_ALL),
    ('userName eq "café@school.edu"', MATCH_NONE),
    ('not (userName eq "café@school.edu")', MATCH_ALL),
    ('userName eq "café@school.edu" or userName sw "m"', "(mail=m*)"),
    ('userName eq "café@school.edu" and userName sw "m"', MATCH_NONE),
    ('userName ne "café@school.edu" and userName sw "m"', "(mail=m*)"),
    ('userName ne "café@school.edu" or userName sw "m"', MATCH_ALL),
    ('userName ne "café@school.edu"', MATCH_ALL),
    ('displayName eq ""', MATCH_NONE),
    ('displayName ne ""', MATCH_ALL),
    ('displayName co ""', "(displayName=*)"),
    ('externalId lt ""', MATCH_NONE),
    ('externalId gt ""', "(mimsExternalId=*)"),
]

# Values that must never change the shape of the filter (RFC 4515 section 3).
ESCAPES = [
    ("*)(uid=*", r"\2a\29\28uid=\2a"),
    ("\\", r"\5c"),
    ("\x00", r"\00"),
    ("(", r"\28"),
    (")", r"\29"),
    ("*", r"\2a"),
    ("Zoë 陈", "Zoë 陈"),
    ("x" * 10_000, "x" * 10_000),
]


@pytest.mark.parametrize(("text", "expected"), USER_FILTERS)
def test_user_filter_translates(text: str, expected: str) -> None:
    assert user(text) == expected


@pytest.mark.parametrize(("value", "escaped"), ESCAPES)
@pytest.mark.parametrize(
    ("op", "shape"),
    [
        ("eq", "(cn={})"),
        ("ne", "(!(cn={}))"),
        ("co", "(cn=*{}*)"),
        ("sw", "(cn={}*)"),
        ("ew", "(cn=*{})"),
    ],
)
def test_values_are_escaped(value: str, escaped: str, op: str, shape: str) -> None:
    query = Compare("full_name", op, value)  # type: ignore[arg-type]
    assert to_ldap(query, "User") == shape.format(escaped)


def test_escaping_survives_the_whole_way_from_scim_text() -> None:
    assert user(r'displayName eq "*)(uid=*\\\u0000("') == r"(displayName=\2a\29\28uid=\2a\5c\00\28)"


def test_mail_escapes_its_ascii_specials() -> None:
    assert user('userName eq "a*b(c)@x"') == r"(mail=a\2ab\28c\29@x)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('displayName eq "4A"', "(cn=4A)"),
        ('displayName sw "4"', "(cn=4*)"),
        ('externalId eq "G1"', "(mimsExternalId=G1)"),
        (f'id eq "{UUID}"', f"(entryUUID={UUID})"),
        ("members pr", "(member=*)"),
        (
            'meta.created lt "2024-01-31T08:00:00Z"',
            "(&(createTimestamp<=20240131080000Z)(!(createTimestamp=20240131080000Z)))",
        ),
    ],
)
def test_group_filter_translates(text: str, expected: str) -> None:
    assert to_ldap(parse_filter(text, "Group"), "Group") == expected


def test_ids_stored_as_dns_go_through_the_resolver() -> None:
    dns = {"u1": "uid=a\\2cb,ou=students,ou=people," + SUFFIX}
    member = parse_filter('members[value eq "u1"]', "Group")
    assert to_ldap(member, "Group", dns.get) == (
        r"(member=uid=a\5c2cb,ou=students,ou=people,dc=mims,dc=example)"
    )
    unknown = parse_filter('members[value eq "nobody"]', "Group")
    assert to_ldap(unknown, "Group", dns.get) == MATCH_NONE
    assert to_ldap(Not(unknown), "Group", dns.get) == MATCH_ALL
    manager = parse_filter(f'{ENTERPRISE}:manager.value ne "u1"', "User")
    assert to_ldap(manager, "User", dns.get) == (
        r"(!(manager=uid=a\5c2cb,ou=students,ou=people,dc=mims,dc=example))"
    )


@pytest.mark.parametrize(
    ("resource", "text", "message"),
    [
        ("Group", 'members[value eq "u1"]', "filtering on 'members.value' is not supported here"),
        ("User", f'{ENTERPRISE}:manager.value eq "u1"', "filtering on 'urn:ietf:params:scim:"),
        ("Group", 'members co "u1"', "'co' is not supported on 'members'"),
        ("User", 'userName gt "m"', "'gt' is not supported on 'userName': it has no order"),
        ("User", 'name.familyName le "T"', "'le' is not supported on 'name.familyName'"),
        ("User", f'{MIMS}:role co "stu"', f"'co' is not supported on '{MIMS}:role'"),
        ("User", f'{MIMS}:level sw "P"', "'sw' is not supported on"),
        ("User", f'{MIMS}:school lt "N"', f"'lt' is not supported on '{MIMS}:school'"),
        ("User", 'id sw "2819"', "'sw' is not supported on 'id'"),
        ("User", 'id gt "2819"', "'gt' is not supported on 'id'"),
    ],
)
def test_refusals_name_the_attribute_as_the_client_wrote_it(
    resource: str, text: str, message: str
) -> None:
    query = parse_filter(text, resource)  # type: ignore[arg-type]
    with pytest.raises(InvalidFilter, match="^" + message.replace("(", r"\(")):
        to_ldap(query, resource)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Compare("nickname", "eq", "x"), "'nickname' cannot be searched"),
        (Compare("member_id", "eq", "x"), "'member_id' cannot be searched"),  # not on users
        (Compare("full_name", "eq", 5), "'full_name' needs a string"),
        (Compare("created", "eq", "2024"), "'created' needs a dateTime"),
        (Compare("active", "eq", "false"), "'active' can only be compared with true or false"),
        (Compare("active", "gt", True), "'active' can only be compared with true or false"),
    ],
)
def test_queries_built_by_hand_are_checked_too(query: Query, message: str) -> None:
    with pytest.raises(InvalidFilter, match=message):
        to_ldap(query, "User")


def test_constants_and_naive_times() -> None:
    assert to_ldap(ALL, "User") == MATCH_ALL
    assert to_ldap(NOTHING, "User") == MATCH_NONE
    assert to_ldap(And((Present("email"),)), "User") == "(mail=*)"
    assert to_ldap(Or((Present("email"), ALL)), "User") == MATCH_ALL
    assert to_ldap(And((Present("email"), NOTHING)), "User") == MATCH_NONE
    assert to_ldap(Not(Not(Present("email"))), "User") == "(!(!(mail=*)))"
    early = Compare("created", "ge", datetime(999, 1, 2, 3, 4, 5, 600))
    assert to_ldap(early, "User") == "(createTimestamp>=09990102030405.0006Z)"
    naive = Compare("created", "ge", datetime(2024, 1, 31, 8))
    assert to_ldap(naive, "User") == "(createTimestamp>=20240131080000Z)"
    plus8 = Compare("created", "ge", datetime(2024, 1, 31, 16, tzinfo=timezone(timedelta(hours=8))))
    assert to_ldap(plus8, "User") == "(createTimestamp>=20240131080000Z)"


# --- The real slapd answers them ----------------------------------------------------------------

STUDENTS = f"ou=students,ou=people,{SUFFIX}"
PEOPLE = [
    (
        "mary",
        {
            "mail": "mary.tan@school.edu",
            "mimsExternalId": "A1",
            "mimsDisabled": "TRUE",
            "displayName": "a*b",
            "mimsLevel": "P3",
        },
    ),
    (
        "maryann",
        {
            "mail": "maryann.lim@school.edu",
            "mimsExternalId": "a1",
            "displayName": "axxb",
            "mimsLevel": "P4",
            "mimsChallengeAnswer": "1:$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        },
    ),
    (
        "bob",
        {
            "mail": "bob.lee@school.edu",
            "mimsExternalId": "B2",
            "mimsLevel": "P5",
            "displayName": "*)(uid=*",
            "pwdAccountLockedTime": "000001010000Z",
        },
    ),
]


@pytest.fixture
def people(admin: ldap3.Connection, directory: LdapClient) -> dict[str, str]:
    """Add three students; return uid -> entryUUID. `directory` empties the subtree after."""
    ids = {}
    for uid, attributes in PEOPLE:
        dn = f"uid={uid},{STUDENTS}"
        admin.add(
            dn,
            ["inetOrgPerson", "mimsPerson"],
            {"uid": uid, "cn": uid.title(), "sn": uid.title(), **attributes},
        )
        admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["entryUUID"])
        ids[uid] = str(admin.entries[0].entryUUID)
    return ids


def found(admin: ldap3.Connection, scim: str) -> set[str]:
    ldap_filter = user(scim)
    admin.search(STUDENTS, f"(&(objectClass=inetOrgPerson){ldap_filter})", attributes=["uid"])
    return {str(entry.uid) for entry in admin.entries}


@pytest.mark.parametrize(
    ("scim", "uids"),
    [
        ('userName sw "mary"', {"mary", "maryann"}),
        ('userName sw "MARY"', {"mary", "maryann"}),
        ('externalId eq "A1"', {"mary"}),  # case exact
        ('externalId eq "a1"', {"maryann"}),
        ('externalId ne "A1"', {"maryann", "bob"}),
        ("active eq false", {"mary"}),
        ("active eq true", {"maryann", "bob"}),
        (f"{MIMS}:locked eq true", {"bob"}),
        (f"{MIMS}:locked eq false", {"mary", "maryann"}),
        (f"{MIMS}:answersSet eq true", {"maryann"}),
        ('emails[type eq "work"].value eq "BOB.LEE@school.edu"', {"bob"}),
        ('userName eq "mary.tan@school.edu" or userName sw "bob" and active eq false', {"mary"}),
        ('not (userName sw "mary")', {"bob"}),
        ('displayName eq "a*b"', {"mary"}),  # not a wildcard
        ('displayName eq "*)(uid=*"', {"bob"}),
        ('displayName co ")("', {"bob"}),
        ('displayName eq "' + "x" * 9_000 + '"', set()),
        (f'{MIMS}:level gt "P3"', {"maryann", "bob"}),
        (f'{MIMS}:level lt "P4"', {"mary"}),
        ('meta.created gt "2000-01-01T00:00:00Z"', {"mary", "maryann", "bob"}),
        ('meta.created lt "2000-01-01T00:00:00Z"', set()),
        ('userName ne "café@school.edu"', {"mary", "maryann", "bob"}),
        ('id ne "not-a-uuid"', {"mary", "maryann", "bob"}),
        ("name.givenName pr", set()),
        ("name.givenName eq null", {"mary", "maryann", "bob"}),
    ],
)
def test_slapd_returns_the_right_people(
    admin: ldap3.Connection, people: dict[str, str], scim: str, uids: set[str]
) -> None:
    assert found(admin, scim) == uids


def test_slapd_finds_a_person_by_id(admin: ldap3.Connection, people: dict[str, str]) -> None:
    assert found(admin, f'id eq "{people["maryann"]}"') == {"maryann"}
    assert found(admin, f'id eq "{people["maryann"].upper()}"') == {"maryann"}


def test_slapd_finds_groups_by_member(admin: ldap3.Connection, people: dict[str, str]) -> None:
    groups = f"ou=groups,{SUFFIX}"
    admin.add(f"cn=4A,{groups}", ["mimsGroup"], {"cn": "4A", "member": f"uid=mary,{STUDENTS}"})
    admin.add(f"cn=empty,{groups}", ["mimsGroup"], {"cn": "empty"})

    def resolve(entry_uuid: str) -> str | None:
        admin.search(STUDENTS, f"(entryUUID={entry_uuid})", attributes=["1.1"])
        return admin.entries[0].entry_dn if admin.entries else None

    def names(scim: str) -> set[str]:
        ldap_filter = to_ldap(parse_filter(scim, "Group"), "Group", resolve)
        admin.search(groups, f"(&(objectClass=mimsGroup){ldap_filter})", attributes=["cn"])
        return {str(entry.cn) for entry in admin.entries}

    assert names(f'members[value eq "{people["mary"]}"]') == {"4A"}
    assert names(f'members[value eq "{people["bob"]}"]') == set()
    assert names("members pr") == {"4A"}
    assert names("not (members pr)") == {"empty"}
    assert names('displayName eq "4a"') == {"4A"}


def test_slapd_accepts_every_translated_filter(admin: ldap3.Connection) -> None:
    for text, ldap_filter in USER_FILTERS:
        admin.search(STUDENTS, ldap_filter, attributes=["1.1"])
        assert admin.result["result"] == 0, text
