"""`mims admin grant|list|revoke` and `mims user ... --as`, as a sysadmin runs them: real
processes against the session's slapd; grants read back by an LDAP reader service account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.core.audit import Origin, reset_origin, set_origin
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.service_accounts import ServiceAccountStore
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Backend
from tests.support.admins import BEDOK, CLEMENTI, Cast, make_cast
from tests.support.cli import mims
from tests.support.directory import SUFFIX, ldaps_server

NOT_FOUND = "Error: no such person\n"


@pytest.fixture
def cast(config: Config, directory: LdapClient) -> Iterator[Cast]:
    token = set_origin(Origin("cli", "test", "local", "r1"))
    yield make_cast(Backend(config, directory))
    reset_origin(token)


@pytest.fixture
def env(config: Config, tmp_path: Path) -> dict[str, str]:
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}


def test_grant_list_revoke_round_trip(cast: Cast, env: dict[str, str]) -> None:
    login = str(cast.ong.login_id)
    done = mims(
        "admin", "grant", login, "--school", BEDOK.upper(), "--class", f"{CLEMENTI}/4b", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{login}: school administrator, form teacher: class:{CLEMENTI}/4B, school:{BEDOK}"
    )
    listed = mims("admin", "list", env=env)
    assert f"{login}\tschool administrator, form teacher" in listed.stdout
    assert f"{cast.mims_admin.login_id}\tMIMS administrator: all" in listed.stdout
    done = mims("admin", "revoke", login, "--school", BEDOK, env=env)
    assert done.stdout.strip() == f"{login}: form teacher: class:{CLEMENTI}/4B"
    done = mims("admin", "revoke", login, env=env)
    assert done.returncode == 0 and done.stdout.strip() == f"{login}: no grant"
    assert login not in mims("admin", "list", env=env).stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nobody@schools.gov.sg", "--all"], "Error: no person has the login ID nobody@"),
        (["{ong}", "--school", "Nowhere Primary"], "Error: no person belongs to a school named"),
        (["{ong}", "--class", f"{CLEMENTI}/9Z"], "Error: no student is in a class '9Z'"),
        (["{ong}", "--class", "4A"], "Error: '4A' is not \"SCHOOL/CLASS\""),
        (["{ong}", "--all", "--school", CLEMENTI], "Error: --all already covers"),
        (["{ong}"], "Error: say what to grant"),
    ],
)
def test_a_bad_grant_is_one_line_and_grants_nothing(
    cast: Cast, env: dict[str, str], args: list[str], error: str
) -> None:
    done = mims("admin", "grant", *[a.format(ong=cast.ong.login_id) for a in args], env=env)
    assert done.returncode == 1
    assert done.stderr.startswith(error) and done.stderr.count("\n") == 1
    assert str(cast.ong.login_id) not in mims("admin", "list", env=env).stdout


@pytest.mark.parametrize("role", ["school", "form"])
@pytest.mark.parametrize(
    "command", [["unlock"], ["reset-password"], ["clear-answers"], ["disable"], ["enable"]]
)
def test_as_an_administrator_out_of_scope_is_the_not_found_line(
    cast: Cast, env: dict[str, str], role: str, command: list[str]
) -> None:
    who = cast.school_admin if role == "school" else cast.form_teacher
    outsider = cast.chloe if role == "school" else cast.bob
    refused = mims("user", *command, str(outsider.login_id), "--as", str(who.login_id), env=env)
    missing = mims("user", *command, "ghost@students.edu.sg", "--as", str(who.login_id), env=env)
    assert (refused.returncode, refused.stderr) == (1, NOT_FOUND)
    assert (missing.returncode, missing.stderr) == (1, NOT_FOUND)


def test_a_form_teacher_resets_their_student_but_may_not_disable(
    cast: Cast, env: dict[str, str], config: Config, directory: LdapClient
) -> None:
    teacher = str(cast.form_teacher.login_id)
    done = mims("user", "reset-password", str(cast.alice.login_id), "--as", teacher, env=env)
    assert done.returncode == 0 and done.stdout.startswith(
        f"temporary password for {cast.alice.login_id}: "
    )
    refused = mims("user", "disable", str(cast.alice.login_id), "--as", teacher, env=env)
    assert (refused.returncode, refused.stderr) == (1, "Error: you may not disable this person\n")
    backend = Backend(config, directory)
    alice = backend.services.people.get(cast.alice.id)
    assert alice.must_change and not alice.disabled
    events = [e for e in backend.audit.events() if e.target == cast.alice.id]
    assert [e.actor for e in events if e.operation == "password.reset"][-1] == teacher


def test_someone_without_a_grant_cannot_act_as_an_administrator(
    cast: Cast, env: dict[str, str]
) -> None:
    done = mims("user", "unlock", str(cast.bob.login_id), "--as", str(cast.alice.login_id), env=env)
    assert done.returncode == 1
    assert (
        done.stderr
        == f"Error: {cast.alice.login_id} holds no administrator grant (mims admin grant)\n"
    )


def test_an_ldap_reader_sees_grants_and_cannot_change_them(
    cast: Cast, config: Config, slapd: ManagedSlapd
) -> None:
    client = LdapClient(client_settings(config))
    store = ServiceAccountStore(client, SUFFIX)
    secret = "Reader-Secret-4711-xyz"
    account = store.create("grants-reader", "reader", secret)
    reader = ldap3.Connection(ldaps_server(slapd), account.dn, secret, auto_bind=True)
    try:
        reader.search(
            dn.admins_base(SUFFIX),
            "(member=*)",
            ldap3.LEVEL,
            attributes=["cn", "member"],
        )
        seen = {str(e.cn): {m.lower() for m in e.member.values} for e in reader.entries}
        school = dn.person_dn(cast.school_admin.login_id.local, "staff", SUFFIX).lower()
        assert school in seen[f"school:{CLEMENTI}"]
        assert f"class:{CLEMENTI}/4A" in seen and "all" in seen
        reader.modify(dn.grant_group_dn("all", SUFFIX), {"member": [(ldap3.MODIFY_ADD, [school])]})
        assert reader.result["description"] == "insufficientAccessRights"
    finally:
        reader.unbind()
        store.revoke("grants-reader")
        client.close()
