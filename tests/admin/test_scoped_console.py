"""The scoped console service (the core door every front door uses), against the real slapd:
each role reaches its own people and gets NotFound for anyone else, by id and by search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.core.admin_console import AdminConsole, ScopedConsole
from bridge.core.administration import AllSchools, School, SchoolClass
from bridge.core.audit import Origin, reset_origin, set_origin
from bridge.core.naming import LoginId
from bridge.core.people import Person
from bridge.directory.client import LdapClient
from bridge.errors import Forbidden, NotFound
from bridge.services import Backend
from tests.support.admins import BEDOK, CLEMENTI, Cast, make_cast

ACTIONS = ("get", "unlock", "reset", "clear_answers", "disable", "enable", "history")


@pytest.fixture
def backend(config: Config, directory: LdapClient, tmp_path: Path) -> Backend:
    audited = config.with_overrides(audit={"file": str(tmp_path / "audit.log")})
    return Backend(audited, directory)


@pytest.fixture
def cast(backend: Backend) -> Iterator[Cast]:
    token = set_origin(Origin("console", "test", "127.0.0.1", "r1"))
    yield make_cast(backend)
    reset_origin(token)


@pytest.fixture
def console(backend: Backend) -> AdminConsole:
    return backend.admin_console()


def ids(found: tuple[int, list[Person]]) -> set[str]:
    return {person.id for person in found[1]}


def out_of_scope(cast: Cast) -> dict[str, list[Person]]:
    return {
        "mims": [],
        "school": [cast.chloe, cast.raj, cast.hq, cast.mims_admin],
        "form": [cast.bob, cast.chloe, cast.ong, cast.raj, cast.hq, cast.school_admin],
    }


def actor(console: AdminConsole, cast: Cast, role: str) -> ScopedConsole:
    who = {"mims": cast.mims_admin, "school": cast.school_admin, "form": cast.form_teacher}
    return console.for_actor(who[role].login_id)


@pytest.mark.parametrize("role", ["school", "form"])
@pytest.mark.parametrize("action", ACTIONS)
def test_out_of_scope_by_id_is_not_found_as_a_missing_id_is(
    console: AdminConsole, cast: Cast, role: str, action: str
) -> None:
    scoped = actor(console, cast, role)
    with pytest.raises(NotFound) as missing:
        getattr(scoped, action)("00000000-0000-0000-0000-000000000000")
    for person in out_of_scope(cast)[role]:
        with pytest.raises(NotFound) as refused:
            getattr(scoped, action)(person.id)
        assert str(refused.value) == str(missing.value)
    with pytest.raises(NotFound):
        scoped.find(cast.chloe.login_id)


@pytest.mark.parametrize("role", ["mims", "school", "form"])
def test_a_search_answers_only_people_in_scope_and_counts_only_them(
    console: AdminConsole, cast: Cast, role: str
) -> None:
    scoped = actor(console, cast, role)
    total, people = scoped.search()
    hidden = {p.id for p in out_of_scope(cast)[role]}
    assert total == len(people) and not hidden & ids((total, people))
    assert cast.alice.id in ids((total, people))
    assert scoped.search("chloe")[0] == (1 if role == "mims" else 0)
    assert scoped.search("lim wei")[0] == (1 if role == "mims" else 0)
    # Paged by the directory: a page of one still counts everyone in scope.
    assert scoped.search(count=1, start=2)[0] == total


def test_the_school_administrator_sees_a_teacher_of_two_schools_and_not_hq(
    console: AdminConsole, cast: Cast
) -> None:
    scoped = actor(console, cast, "school")
    assert scoped.get(cast.ong.id).id == cast.ong.id
    found = ids(scoped.search())
    assert {cast.alice.id, cast.bob.id, cast.ong.id, cast.form_teacher.id} <= found
    assert cast.hq.id not in found


def test_search_by_partial_name_without_case_or_accents_class_and_level(
    console: AdminConsole, cast: Cast
) -> None:
    scoped = actor(console, cast, "mims")
    assert ids(scoped.search("CHLOÉ")) == {cast.chloe.id}
    assert ids(scoped.search("chloe")) == {cast.chloe.id}
    assert ids(scoped.search("ice n")) == {cast.alice.id}
    assert ids(scoped.search(str(cast.bob.login_id))) == {cast.bob.id}
    assert ids(scoped.search(class_name="4a")) == {cast.alice.id}
    assert ids(scoped.search("ng", level="P4")) == {cast.alice.id, cast.bob.id}


def test_a_form_teacher_resets_and_unlocks_their_student_but_may_not_disable(
    console: AdminConsole, cast: Cast, backend: Backend
) -> None:
    scoped = actor(console, cast, "form")
    temporary = scoped.reset(cast.alice.id)
    assert backend.services.people.get(cast.alice.id).must_change
    assert temporary
    scoped.unlock(cast.alice.id)
    scoped.clear_answers(cast.alice.id)
    with pytest.raises(Forbidden):
        scoped.disable(cast.alice.id)
    with pytest.raises(Forbidden):
        scoped.enable(cast.alice.id)
    assert not backend.services.people.get(cast.alice.id).disabled


def test_a_school_administrator_disables_and_enables_but_not_an_administrator_above(
    console: AdminConsole, cast: Cast, backend: Backend
) -> None:
    scoped = actor(console, cast, "school")
    assert scoped.disable(cast.bob.id).disabled
    assert not scoped.enable(cast.bob.id).disabled
    scoped.reset(cast.ong.id)  # a plain teacher of the school
    backend.grants.grant(cast.ong.login_id, [AllSchools()])
    assert scoped.get(cast.ong.id).id == cast.ong.id
    with pytest.raises(Forbidden):
        scoped.reset(cast.ong.id)


def test_someone_without_a_grant_is_no_administrator(console: AdminConsole, cast: Cast) -> None:
    with pytest.raises(Forbidden):
        console.for_actor(cast.alice.login_id)
    with pytest.raises(Forbidden):
        console.for_actor("nobody@schools.gov.sg")


def test_actions_and_refusals_are_audited_with_the_administrator_as_actor(
    console: AdminConsole, cast: Cast, backend: Backend
) -> None:
    scoped = actor(console, cast, "school")
    scoped.unlock(cast.alice.id)
    with pytest.raises(NotFound):
        scoped.reset(cast.chloe.id)
    events = list(backend.audit.events())
    mine = [e for e in events if e.actor == str(cast.school_admin.login_id)]
    assert any(e.operation == "lock.clear" and e.target == cast.alice.id for e in mine)
    assert any(e.operation == "admin.reset" and e.outcome == "NotFound" for e in mine)
    history = scoped.history(cast.alice.id)
    assert history[0].operation == "lock.clear"
    assert history[0].actor == str(cast.school_admin.login_id)


def test_grants_round_trip_and_are_audited(cast: Cast, backend: Backend) -> None:
    listed = {a.person.id: a.scopes for a in backend.grants.list()}
    assert listed[cast.school_admin.id] == {School(CLEMENTI)}
    assert listed[cast.form_teacher.id] == {SchoolClass(CLEMENTI, "4A")}
    assert listed[cast.mims_admin.id] == {AllSchools()}
    held = backend.grants.grant(cast.ong.login_id, [School(BEDOK), SchoolClass(CLEMENTI, "4B")])
    assert held.scopes == {School(BEDOK), SchoolClass(CLEMENTI, "4B")}
    assert backend.grants.revoke(cast.ong.login_id, [School(BEDOK)]).scopes == {
        SchoolClass(CLEMENTI, "4B")
    }
    assert backend.grants.revoke(cast.ong.login_id).scopes == frozenset()
    assert cast.ong.id not in {a.person.id for a in backend.grants.list()}
    events = [e for e in backend.audit.events() if e.operation.startswith("admin.")]
    grant = next(e for e in events if e.operation == "admin.grant" and e.target == cast.ong.id)
    assert set(grant.attributes) == {f"school:{BEDOK}", f"class:{CLEMENTI}/4B"}
    assert grant.actor == "test" and grant.login == str(cast.ong.login_id)
    assert [e.operation for e in events if e.target == cast.ong.id][-2:] == [
        "admin.revoke",
        "admin.revoke",
    ]


def test_a_grant_follows_a_rename_and_ends_with_a_delete(cast: Cast, backend: Backend) -> None:
    renamed = backend.services.people.rename_login(
        cast.school_admin.id, LoginId.parse("sarah_goh_2@schools.gov.sg")
    )
    assert backend.grants.of(renamed.login_id) == {School(CLEMENTI)}
    backend.services.people.delete(cast.form_teacher.id)
    assert cast.form_teacher.id not in {a.person.id for a in backend.grants.list()}


def test_grants_are_no_groups(cast: Cast, backend: Backend) -> None:
    school_admin = backend.services.people.get(cast.school_admin.id)
    assert not any("admin" in name or ":" in name for name in school_admin.groups)
