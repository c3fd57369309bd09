"""The portal's test people: their passwords, their answers, and a JSON call to the portal API."""

from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient

from bridge.core.people import NewPerson, Person
from bridge.services import Services

GOOD = "Sunny7Garden42"
NEWER = "Purple9Rocket31"
ANSWERS = {
    "mother_maiden_name": "Lim",
    "favourite_colour": "Blue",
    "favourite_city": "Paris",
}


@dataclass
class Account:
    person: Person
    login: str
    password: str


def make_person(services: Services, name: str = "Mary Tan", level: str = "P4") -> Person:
    """Create a student with the password GOOD through the core service."""
    given, family = name.split(" ", 1)
    return services.people.create(
        NewPerson(
            full_name=name,
            given_name=given,
            family_name=family,
            role="student",
            school="Clementi Primary School",
            level=level,
            class_name=f"{level[1:]}A",
            password=GOOD,
        )
    )


def post(client: FlaskClient, path: str, body: object) -> tuple[int, dict[str, object]]:
    """POST JSON to /sspr/api/PATH; return the status and the JSON body."""
    response = client.post(f"/sspr/api/{path}", json=body)
    return response.status_code, response.get_json()
