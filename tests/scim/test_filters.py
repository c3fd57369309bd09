"""SCIM filter text -> Query: the parser choice, the attribute tables, the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scim2_models import ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from bridge.core.query import ALL, NOTHING, And, Compare, Or, Query
from bridge.core.query import Not as QNot
from bridge.core.query import Present as QPresent
from bridge.errors import InvalidValue
from bridge.scim.filters import InvalidFilter, parse_filter

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"


def eq(attr: str, value: object, sub: str | None = None, uri: str | None = None) -> Comparison:
    return Comparison(AttrPath(attr, sub, uri), CompareOperator.eq, value)


def both(op: LogicalOperator, *terms: FilterNode) -> LogicalExpr:
    return LogicalExpr(op, terms)


# --- The parser: scim2-models reads what RFC 7644 section 3.4.2.2 says --------------------------

A, B, C = eq("a", "1"), eq("b", "2"), eq("c", "3")
AND, OR = LogicalOperator.and_, LogicalOperator.or_


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        # "and" binds tighter than "or": a or (b and c), and (a and b) or c.
        ('a eq "1" or b eq "2" and c eq "3"', both(OR, A, both(AND, B, C))),
        ('a eq "1" and b eq "2" or c eq "3"', both(OR, both(AND, A, B), C)),
        ('(a eq "1" or b eq "2") and c eq "3"', both(AND, both(OR, A, B), C)),
        ('not (a eq "1") and b eq "2"', both(AND, Not(A), B)),
        ('not (a eq "1" or b eq "2")', Not(both(OR, A, B))),
        ("x gt 123", Comparison(AttrPath("x"), CompareOperator.gt, 123)),
        ("x ge -12.5", Comparison(AttrPath("x"), CompareOperator.ge, -12.5)),
        (r'userName eq "a\"b"', eq("userName", 'a"b')),
        (r'userName eq "a\\b"', eq("userName", "a\\b")),
        (r'userName eq "caf\u00e9"', eq("userName", "café")),
        ('USERNAME Eq "x"', eq("USERNAME", "x")),
        ('a eq "1" OR b eq "2" AND c eq "3"', both(OR, A, both(AND, B, C))),
        ("active eq false", eq("active", False)),
        ("x eq null", eq("x", None)),
        ('truename eq "x"', eq("truename", "x")),
        (
            'meta.lastModified gt "2011-05-13T04:42:34Z"',
            Comparison(
                AttrPath("meta", "lastModified"), CompareOperator.gt, "2011-05-13T04:42:34Z"
            ),
        ),
        (f'{ENTERPRISE}:employeeNumber eq "7"', eq("employeeNumber", "7", uri=ENTERPRISE)),
        (
            'emails[type eq "work" and value co "@x"]',
            ValuePath(
                AttrPath("emails"),
                both(
                    AND, eq("type", "work"), Comparison(AttrPath("value"), CompareOperator.co, "@x")
                ),
            ),
        ),
        (
            'emails[type eq "work"].value eq "a@b"',
            ValuePath(AttrPath("emails"), both(AND, eq("type", "work"), eq("value", "a@b"))),
        ),
        ("title pr", Present(AttrPath("title"))),
    ],
)
def test_scim2_models_parses_by_the_rfc(text: str, tree: FilterNode) -> None:
    assert ScimFilter(text).ast == tree


# --- scim2-filter-parser 0.7.0: why the card's parser was rejected -------------------------------
# This test documents THIRD-PARTY behaviour (the package the card named, which the bridge does not
# use): it reads `a or b and c` as `(a or b) and c`, where RFC 7644 section 3.4.2.2 binds "and"
# tighter (scim2-models reads it right: the first row of the table above). If this starts failing,
# the package was fixed. It skips once the package is gone.


def test_flaw_scim2_filter_parser_gives_and_and_or_the_same_precedence() -> None:
    lexer = pytest.importorskip("scim2_filter_parser.lexer")
    parser = pytest.importorskip("scim2_filter_parser.parser")
    tokens = lexer.SCIMLexer().tokenize('a eq "1" or b eq "2" and c eq "3"')
    tree = parser.SCIMParser().parse(tokens)
    # Read as (a or b) and c: the root is the "and", where the RFC puts the "or".
    assert tree.expr.op == "and"
    assert tree.expr.expr1.expr.op == "or"


# --- SCIM attribute paths -> domain fields ------------------------------------------------------


def c(field: str, op: str, value: object) -> Compare:
    return Compare(field, op, value)  # type: ignore[arg-type]


WHEN = datetime(2024, 1, 31, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'id eq "2819c223-7f76-453a-919d-413861904646"',
            c("id", "eq", "2819c223-7f76-453a-919d-413861904646"),
        ),
        ('userName eq "mary@school.edu"', c("login_id", "eq", "mary@school.edu")),
        ('USERNAME Eq "x"', c("login_id", "eq", "x")),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "m"', c("login_id", "sw", "m")),
        ('URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:username sw "m"', c("login_id", "sw", "m")),
        ('externalId eq "A1"', c("external_id", "eq", "A1")),
        ('name.givenName co "ar"', c("given_name", "co", "ar")),
        ('Name.FamilyName ew "n"', c("family_name", "ew", "n")),
        ('name.formatted eq "Mary Tan"', c("full_name", "eq", "Mary Tan")),
        ('displayName ne "x"', c("display_name", "ne", "x")),
        ("active eq true", c("active", "eq", True)),
        ("active eq false", c("active", "eq", False)),
        ("active ne false", c("active", "ne", False)),
        ("active pr", ALL),
        ('emails co "@school"', c("email", "co", "@school")),
        ('emails.value eq "a@b"', c("email", "eq", "a@b")),
        ('emails[type eq "work"].value eq "a@b"', c("email", "eq", "a@b")),
        ('emails[type eq "work" and value co "@x"]', c("email", "co", "@x")),
        ('emails[type eq "Work"]', QPresent("email")),
        ('emails.type eq "work"', QPresent("email")),
        ('emails[type eq "home"]', NOTHING),
        ('emails[type eq "home"].value eq "a@b"', NOTHING),
        ('emails[value ne "a@b"]', And((QPresent("email"), c("email", "ne", "a@b")))),
        ("emails pr", QPresent("email")),
        ('meta.created gt "2024-01-31T08:00:00Z"', c("created", "gt", WHEN)),
        ('meta.lastModified le "2024-01-31T16:00:00+08:00"', c("modified", "le", WHEN)),
        ('meta.created ge "2024-01-31T08:00:00"', c("created", "ge", WHEN)),
        (f'{ENTERPRISE}:employeeNumber eq "7"', c("employee_number", "eq", "7")),
        ('employeeNumber eq "7"', c("employee_number", "eq", "7")),
        (f'{ENTERPRISE}:department eq "Science"', c("department", "eq", "Science")),
        (f'{ENTERPRISE}:organization eq "MIMS"', c("organization", "eq", "MIMS")),
        (f'{ENTERPRISE}:manager.value eq "m1"', c("manager_id", "eq", "m1")),
        (f'{MIMS}:school eq "North"', c("school", "eq", "North")),
        (f'{MIMS}:level gt "P3"', c("level", "gt", "P3")),
        (f'{MIMS}:className eq "4A"', c("class_name", "eq", "4A")),
        (f'{MIMS}:role eq "student"', c("role", "eq", "student")),
        (f'{MIMS}:loginId eq "m@x"', c("login_id", "eq", "m@x")),
        (f"{MIMS}:locked eq true", c("locked", "eq", True)),
        (f"{MIMS}:answersSet eq false", c("answers_set", "eq", False)),
        ("displayName eq null", QNot(QPresent("display_name"))),
        ("displayName ne null", QPresent("display_name")),
        (
            'userName eq "a" or userName eq "b" and displayName pr',
            Or(
                (
                    c("login_id", "eq", "a"),
                    And((c("login_id", "eq", "b"), QPresent("display_name"))),
                )
            ),
        ),
        ('not (userName eq "a")', QNot(c("login_id", "eq", "a"))),
        ('not (not (userName eq "a"))', c("login_id", "eq", "a")),
        (r'userName eq "a\"b\\c\u0000"', c("login_id", "eq", 'a"b\\c\x00')),
    ],
)
def test_user_filters(text: str, expected: Query) -> None:
    assert parse_filter(text, "User") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('displayName eq "4A"', c("display_name", "eq", "4A")),
        ('externalId eq "G1"', c("external_id", "eq", "G1")),
        ('members[value eq "u1"]', c("member_id", "eq", "u1")),
        ('members.value eq "u1"', c("member_id", "eq", "u1")),
        ('members eq "u1"', c("member_id", "eq", "u1")),
        ("members pr", QPresent("member_id")),
        ('meta.created lt "2024-01-31T08:00:00Z"', c("created", "lt", WHEN)),
        (
            'urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "4"',
            c("display_name", "sw", "4"),
        ),
    ],
)
def test_group_filters(text: str, expected: Query) -> None:
    assert parse_filter(text, "Group") == expected


def test_each_lookup_by_a_path_read_before_keeps_its_own_value() -> None:
    # The lookups clients repeat are read from their path's parsed template.
    for value in ("a@x.sg", "b@x.sg", "\ue000", "é 日本", ""):
        for path, field in (("userName", "login_id"), ('emails[type eq "work"].value', "email")):
            assert parse_filter(f'{path} eq "{value}"', "User") == c(field, "eq", value)


def test_the_label_keeps_the_path_as_written() -> None:
    parsed = parse_filter('Name.FamilyName eq "x"', "User")
    assert isinstance(parsed, Compare)
    assert parsed.label == "Name.FamilyName"


@pytest.mark.parametrize(
    ("resource", "text", "message"),
    [
        ("User", 'usrName eq "x"', "unknown attribute 'usrName'"),
        ("User", 'name.middleName eq "x"', "unknown attribute 'name.middleName'"),
        ("User", f'{MIMS}:employeeNumber eq "7"', f"unknown attribute '{MIMS}:employeeNumber'"),
        ("User", 'urn:x:y:userName eq "a"', "unknown attribute 'urn:x:y:userName'"),
        ("User", "emails[primary eq true]", "unknown attribute 'emails.primary'"),
        ("Group", 'userName eq "x"', "unknown attribute 'userName'"),
        ("Group", 'members[display eq "x"]', "unknown attribute 'members.display'"),
        ("User", "userName co 5", "'co' needs a string, not 5"),
        ("User", "userName eq 5", "'userName' needs a string, not 5"),
        ("User", "userName eq true", "'userName' needs a string, not true"),
        ("User", 'active eq "false"', "'active' needs true or false, not \"false\""),
        ("User", "active gt true", "'gt' cannot compare the boolean 'active'"),
        ("User", 'active co "t"', "'co' cannot compare the boolean 'active'"),
        ("User", 'meta.created co "2024"', "'co' cannot compare the dateTime 'meta.created'"),
        ("User", 'meta.created gt "yesterday"', "'meta.created' needs a dateTime"),
        ("User", 'meta.created gt "0001-01-01T00:00:00+08:00"', "'meta.created' needs a dateTime"),
        ("User", "displayName gt null", "'gt' cannot compare 'displayName' with null"),
        ("User", 'userName[value eq "x"]', "'userName' is not multi-valued"),
        ("User", 'emails[type gt "a"]', "'gt' is not supported on 'emails.type'"),
        ("User", 'emails[value.x eq "a"]', "unknown attribute 'value.x' in 'emails'[...]"),
        ("User", 'userName eq "x" garbage', "invalid filter: invalid syntax at column"),
        ("User", 'userName regex "x"', "invalid filter: invalid syntax at column"),
        ("User", "", "invalid filter: invalid syntax"),
        ("User", 'userName eq "unterminated', "invalid filter: invalid syntax"),
        ("User", "not (" * 40 + "userName pr" + ")" * 40, "nests 40 levels deep; at most 10"),
    ],
)
def test_refusals_name_the_problem(resource: str, text: str, message: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text, resource)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_invalid_filter_is_a_400_invalid_filter() -> None:
    assert issubclass(InvalidFilter, InvalidValue)
    assert InvalidFilter.status == 400
    assert InvalidFilter.scim_type == "invalidFilter"
