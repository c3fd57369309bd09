"""Parents' requests in tests: students, administrators with grants, console sign-in, requests."""

from __future__ import annotations

from flask.testing import FlaskClient

from bridge.core.administration import Scope
from bridge.core.people import NewPerson, Person
from bridge.services import Backend
from tests.support import console
from tests.support.console import BUKIT, CLEMENTI, PASSWORD

__all__ = ["BUKIT", "CLEMENTI", "PASSWORD", "administrator", "send_request", "signed_in", "student"]


def student(backend: Backend, name: str, school: str, class_name: str) -> Person:
    """Create a student of a school and class with the test password."""
    return console.student(backend.services, name, school, class_name)


def administrator(backend: Backend, name: str, school: str, *scopes: Scope) -> Person:
    """Create a member of staff holding these grants."""
    person = backend.services.people.create(
        NewPerson(full_name=name, role="staff", school=school, password=PASSWORD)
    )
    backend.grants.grant(person.login_id, scopes)
    return person


def signed_in(client: FlaskClient, person: Person) -> FlaskClient:
    """Sign a console client in as ``person``; return it."""
    response = client.post(
        "/admin/api/login", json={"loginId": str(person.login_id), "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return client


def send_request(
    client: FlaskClient, child: str, school: str, class_name: str, contact: str = "91234567"
) -> None:
    """Send a parent's request through the portal's API."""
    body = {"childName": child, "school": school, "class": class_name, "contact": contact}
    response = client.post("/sspr/api/reset-request", json=body)
    assert response.status_code == 202, response.get_json()
