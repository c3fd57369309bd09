"""A school's cast for administration tests: students and staff of two schools, HQ, and
an administrator of each kind (granted through the real directory store)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core.administration import AllSchools, School, SchoolClass
from bridge.core.people import NewPerson, Person, Role
from bridge.services import Backend

CLEMENTI = "Clementi Primary School"
BEDOK = "Bedok Primary School"
GOOD = "Sunny7Garden42x"


@dataclass(frozen=True)
class Cast:
    """Everyone, by the part they play."""

    alice: Person  # student, Clementi 4A
    bob: Person  # student, Clementi 4B
    chloe: Person  # student "Chloé Lim", Bedok 5A
    ong: Person  # teacher in both schools (Clementi, also Bedok)
    raj: Person  # teacher at Bedok only
    hq: Person  # an HQ officer
    mims_admin: Person  # cn=all
    school_admin: Person  # Clementi
    form_teacher: Person  # Clementi 4A


def _add(backend: Backend, name: str, role: Role, **fields: object) -> Person:
    return backend.services.people.create(
        NewPerson(full_name=name, role=role, password=GOOD, **fields)  # type: ignore[arg-type]
    )


def make_cast(backend: Backend) -> Cast:
    """Create the cast and its grants; the directory fixture removes the people after."""
    student = {"level": "P4"}
    cast = Cast(
        alice=_add(backend, "Alice Ng", "student", school=CLEMENTI, class_name="4A", **student),
        bob=_add(backend, "Bob Ng", "student", school=CLEMENTI, class_name="4B", **student),
        chloe=_add(backend, "Chloé Lim", "student", school=BEDOK, level="P5", class_name="5A"),
        ong=_add(backend, "Ong Li", "staff", school=CLEMENTI, other_schools=frozenset({BEDOK})),
        raj=_add(backend, "Raj Kumar", "staff", school=BEDOK),
        hq=_add(backend, "Lim Wei", "hq"),
        mims_admin=_add(backend, "Head Office", "hq"),
        school_admin=_add(backend, "Sarah Goh", "staff", school=CLEMENTI),
        form_teacher=_add(backend, "Tan Ah Kow", "staff", school=CLEMENTI),
    )
    backend.grants.grant(cast.mims_admin.login_id, [AllSchools()])
    backend.grants.grant(cast.school_admin.login_id, [School(CLEMENTI)])
    backend.grants.grant(cast.form_teacher.login_id, [SchoolClass(CLEMENTI, "4A")])
    return cast
