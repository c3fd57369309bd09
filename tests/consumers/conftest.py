"""The people every consumer test signs in as, made once per test module on the session slapd.

A student and a teacher share a name (so their login IDs share a local part unless the
directory keeps ``uid`` unique); one person is locked, one disabled, one must change a
temporary password. Every password meets the default policy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.config import Config
from bridge.core.people import NewPerson, Person, PersonChange
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import build
from tests.support.consumers import PASSWORD, Cast, ServiceAccount, create_service_account


@pytest.fixture(scope="module")
def cast(config: Config, slapd: ManagedSlapd) -> Iterator[Cast]:
    client = LdapClient(client_settings(config))
    services = build(config, client)
    school = {"school": "Clementi Primary School", "level": "P4", "class_name": "4A"}

    def person(name: str, role: str = "student", **fields: str) -> Person:
        new = NewPerson(full_name=name, role=role, password=PASSWORD, **(school | fields))  # type: ignore[arg-type]
        return services.people.create(new)

    student = person("Tan Mei Ling", given_name="Mei Ling", family_name="Tan")
    teacher = person("Tan Mei Ling", "staff", given_name="Mei Ling", family_name="Tan")
    locked = services.people.update(person("Lim Wei Jie").id, PersonChange(), locked=True)
    disabled = services.people.update(person("Goh Siew Lan").id, PersonChange(disabled=True))
    must_change = person("Nur Aisyah Binte Rahman")
    temporary = services.passwords.reset(must_change, "consumer-test")
    yield Cast(student, teacher, locked, disabled, must_change, temporary)
    for someone in (student, teacher, locked, disabled, must_change):
        services.people.delete(someone.id)
    client.close()


@pytest.fixture(scope="module")
def sso_account(slapd: ManagedSlapd, request: pytest.FixtureRequest) -> ServiceAccount:
    """A service account in the ``sso`` role, named after the test module."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    return create_service_account(slapd.layout.root, f"consumer-{name}", "sso")
