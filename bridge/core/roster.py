"""Roster CSV rows -> people to create or update, or rejections with a reason.

A roster is UTF-8 CSV with a header row. Required columns: external_id, full_name, role,
school, level, class (level and class may be empty for staff). Optional: given_name,
family_name, email (the recovery e-mail), login_id (a login ID chosen by the school system,
used only when the person is created), department and title (staff's). Columns may come in
any order; unknown ones are refused.

A member of staff in several schools has them all in the school column, separated by
SCHOOL_SEPARATOR (``Clementi Primary School; Bedok Secondary School``): the first is their
main school (its level, class and password policy). A student's row with several is rejected.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bridge.core.fingerprints import Fingerprints
from bridge.core.naming import InvalidLoginId, InvalidName, LoginId, NamingRules, base_local_part
from bridge.core.people import ROLES, InvalidField, NewPerson, check_schools

REQUIRED = ("external_id", "full_name", "role", "school", "level", "class")
OPTIONAL = ("given_name", "family_name", "email", "login_id", "department", "title")
SCHOOL_SEPARATOR = ";"  # between the schools of a member of staff in several
MAX_FIELD = 256


class RosterError(ValueError):
    """The file as a whole cannot be read (no header, missing or unknown columns)."""


@dataclass(frozen=True)
class Row:
    """A good row: the person it describes, and which optional columns the file has.

    ``base`` is the login ID base made from the full name (``naming.base_local_part`` with the
    rules ``read`` was given): reading checks the name with it, and the import names the person
    with it, so it is made once per row.
    """

    number: int
    person: NewPerson
    columns: frozenset[str]
    base: str


@dataclass
class Summary:
    """How many rows of an import ended which way."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        """Return the number of rows seen."""
        return self.created + self.updated + self.unchanged + self.rejected


@dataclass(frozen=True)
class Rejected:
    """A bad row: its number (the header is row 1), why, and its raw values."""

    number: int
    reason: str
    values: dict[str, str]


def read(lines: Iterable[str], rules: NamingRules) -> Iterator[Row | Rejected]:
    """Yield each data row as a Row or a Rejected, streaming (one row in memory at a time).

    Decode the file with ``errors="surrogateescape"`` so that a row with bad bytes is rejected
    alone instead of stopping the whole file. Duplicate external IDs are spotted by 8-byte
    fingerprints, the only thing kept per row.
    """
    reader = csv.reader(iter(lines))
    header = [name.strip().lower().lstrip("\ufeff") for name in next(reader, [])]
    _check_header(header)
    seen = Fingerprints()
    for number, raw in enumerate(reader, start=2):
        if not any(value.strip() for value in raw):
            continue  # blank line
        values = dict(zip(header, raw, strict=False))
        problem = _problem(raw, header)
        if problem:
            yield Rejected(number, problem, _printable(values))
            continue
        result = _row(number, values, header, rules)
        if isinstance(result, Row):
            if seen.add(str(result.person.external_id)):
                result = Rejected(number, "this external_id is used by an earlier row", values)
        yield result


def _check_header(header: list[str]) -> None:
    if not header:
        raise RosterError("the file is empty: the first row must name the columns")
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing:
        raise RosterError(f"missing columns: {', '.join(missing)}")
    if unknown:
        raise RosterError(
            f"unknown columns: {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}"
        )
    if len(set(header)) != len(header):
        raise RosterError("a column is named twice")


def _problem(raw: list[str], header: list[str]) -> str | None:
    if len(raw) != len(header):
        return f"has {len(raw)} values but the header names {len(header)} columns"
    for value in raw:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid UTF-8 text"
        if len(value) > MAX_FIELD:
            return f"has a value longer than {MAX_FIELD} characters"
        if "\0" in value:
            return "contains a NUL character"
    return None


def _row(
    number: int, values: dict[str, str], header: list[str], rules: NamingRules
) -> Row | Rejected:
    clean = {name: " ".join(value.split()) for name, value in values.items()}
    role = clean["role"].lower()
    if not clean["external_id"]:
        return Rejected(number, "external_id is empty", values)
    if not clean["full_name"]:
        return Rejected(number, "full_name is empty", values)
    if role not in ROLES:
        return Rejected(number, f"role '{clean['role']}' is not one of {', '.join(ROLES)}", values)
    try:
        base = base_local_part(clean["full_name"], rules)
    except InvalidName as error:
        return Rejected(number, str(error), values)
    login_id = None
    if clean.get("login_id"):
        try:
            login_id = LoginId.parse(clean["login_id"])
        except InvalidLoginId as error:
            return Rejected(number, str(error), values)
    schools = [name.strip() for name in clean["school"].split(SCHOOL_SEPARATOR) if name.strip()]
    person = NewPerson(
        full_name=clean["full_name"],
        role=role,
        given_name=clean.get("given_name") or None,
        family_name=clean.get("family_name") or None,
        school=schools[0] if schools else None,
        other_schools=frozenset(schools[1:]),
        level=clean["level"] or None,
        class_name=clean["class"] or None,
        external_id=clean["external_id"],
        recovery_email=clean.get("email") or None,
        department=clean.get("department") or None,
        title=clean.get("title") or None,
        login_id=login_id,
    )
    try:
        check_schools(person)
    except InvalidField as error:
        return Rejected(number, str(error), values)
    return Row(number, person, frozenset(name for name in OPTIONAL if name in header), base)


def _printable(values: dict[str, str]) -> dict[str, str]:
    return {k: v.encode("utf-8", "replace").decode("utf-8") for k, v in values.items()}
