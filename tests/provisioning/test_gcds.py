"""The GCDS rules on plain values (the CLI tests run them against slapd)."""

from __future__ import annotations

from bridge.core.gcds import GroupEntry, PersonEntry, check

DOMAINS = ("students.edu.sg", "Schools.gov.sg")


def kinds(people: list[PersonEntry], groups: list[GroupEntry]) -> list[tuple[str, str]]:
    problems, _ = check(people, groups, DOMAINS)
    return [(problem.kind, problem.dn) for problem in problems]


def test_a_complete_person_and_group_pass() -> None:
    mary = PersonEntry("uid=mary", ("mary@students.edu.sg",), "student", "Clementi")
    hq = PersonEntry("uid=raj", ("raj@SCHOOLS.gov.sg",), "hq")  # hq people have no school
    club = GroupEntry("cn=club", ("club@students.edu.sg",))
    problems, report = check([mary, hq], [club], DOMAINS)
    assert problems == []
    assert (report.people, report.groups, report.problems) == (2, 1, 0)


def test_every_address_counts_for_domains_and_duplicates() -> None:
    two = PersonEntry("uid=two", ("two@students.edu.sg", "two@gmail.com"), "hq")
    again = PersonEntry("uid=again", ("TWO@Students.edu.sg",), "hq")
    group = GroupEntry("cn=g", ("two@gmail.com",))
    assert kinds([two, again], [group]) == [
        ("foreign-domain", "uid=two"),
        ("duplicate-mail", "uid=again"),
        ("foreign-domain", "cn=g"),
        ("duplicate-mail", "cn=g"),
    ]


def test_an_entry_is_not_its_own_duplicate_and_staff_need_a_school() -> None:
    twice = PersonEntry("uid=t", ("t@schools.gov.sg", "T@schools.gov.sg"), "staff")
    assert kinds([twice], [GroupEntry("cn=no-mail")]) == [
        ("no-school", "uid=t"),
        ("group-no-mail", "cn=no-mail"),
    ]
