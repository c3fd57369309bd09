"""The console's test cast: two schools, their students and staff, and administrators by role."""

from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient

from bridge.core.administration import School, SchoolClass, Scope
from bridge.core.people import NewPerson, Person
from bridge.core.services import Services
from bridge.services import Backend

PASSWORD = "Sunny7Garden42"
CLEMENTI = "Clementi Primary School"
BUKIT = "Bukit Timah Primary School"


@dataclass
class Cast:
    """Who the console tests work with."""

    locked: Person  # Tan Mei Ling, Clementi 5A, locked by wrong passwords
    classmate: Person  # Chloé Lim, Clementi 5A
    other_class: Person  # Ahmad Bin Ali, Clementi 5B
    teacher: Person  # a Clementi teacher (staff), no grant
    elsewhere: Person  # Tan Mei Hua, Bukit Timah 5A
    hq: Person  # an HQ officer
    school_admin: Person  # Clementi's school administrator (staff)
    form_teacher: Person  # the form teacher of Clementi 5A (staff)
    nobody: Person  # staff with the right password and no grant


def student(services: Services, name: str, school: str, class_name: str) -> Person:
    """Create a student of a school and class (level P and the class's digit)."""
    return services.people.create(
        NewPerson(
            full_name=name,
            role="student",
            school=school,
            level=f"P{class_name[0]}",
            class_name=class_name,
            password=PASSWORD,
        )
    )


def staff(services: Services, name: str, school: str | None, role: str = "staff") -> Person:
    """Create a member of staff (or HQ) with the test password."""
    return services.people.create(
        NewPerson(full_name=name, role=role, school=school, password=PASSWORD)  # type: ignore[arg-type]
    )


def lock(services: Services, person: Person) -> Person:
    """Lock an account the way a child does: wrong passwords until ppolicy locks it."""
    for _ in range(30):
        services.passwords.sign_in(services.people.get(person.id), "Wrong-password-1")
        found = services.people.get(person.id)
        if found.lock.locked:
            return found
    raise AssertionError("the account did not lock")


def make_cast(backend: Backend) -> Cast:
    """Create the cast and grant the administrators their scopes."""
    services = backend.services
    cast = Cast(
        locked=student(services, "Tan Mei Ling", CLEMENTI, "5A"),
        classmate=student(services, "Chloé Lim", CLEMENTI, "5A"),
        other_class=student(services, "Ahmad Bin Ali", CLEMENTI, "5B"),
        teacher=staff(services, "Grace Ong", CLEMENTI),
        elsewhere=student(services, "Tan Mei Hua", BUKIT, "5A"),
        hq=staff(services, "Henry Goh", None, "hq"),
        school_admin=staff(services, "Siti Rahman", CLEMENTI),
        form_teacher=staff(services, "Kumar Pillai", CLEMENTI),
        nobody=staff(services, "Nora Lee", CLEMENTI),
    )
    cast.locked = lock(services, cast.locked)
    grant(backend, cast.school_admin, School(CLEMENTI))
    grant(backend, cast.form_teacher, SchoolClass(CLEMENTI, "5A"))
    return cast


def grant(backend: Backend, person: Person, scope: Scope) -> None:
    """Give a person one grant, as `mims admin grant` does."""
    backend.grants.grant(person.login_id, [scope])


def sign_in(client: FlaskClient, person: Person, password: str = PASSWORD) -> int:
    """Sign in to the console API; return the status."""
    response = client.post(
        "/admin/api/login", json={"loginId": str(person.login_id), "password": password}
    )
    return response.status_code
