"""School Wi-Fi: the real FreeRADIUS with the configuration docs/consumers/freeradius.md publishes.

PAP from radclient (as an access point sends it) and EAP-TTLS/PAP from eapol_test (as a device
does), against the session slapd over TLS, as the ``sso`` service account.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson, Person
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import build
from tests.support import radius
from tests.support.certificates import make_certificates
from tests.support.consumers import (
    EXAMPLE_CA,
    EXAMPLE_SECRET,
    EXAMPLE_URI,
    PASSWORD,
    Cast,
    ServiceAccount,
    for_site,
    published_files,
)
from tests.support.directory import admin_connection

if not Path(radius.FREERADIUS).exists():
    pytest.skip("freeradius is not installed (Debian freeradius)", allow_module_level=True)

SERVER_NAME = "radius.school.example"
EXAMPLE_ACCOUNT = "cn=radius,ou=services,dc=mims,dc=example"
EXAMPLE_CERTS = "/etc/freeradius/3.0/certs/"
EXAMPLE_CLIENTS = "10.20.0.0/16"
EXAMPLE_CLIENT_SECRET = "SHARED-SECRET-OF-THE-ACCESS-POINTS"
PORTAL = "https://mims.school.example/sspr/"


@pytest.fixture(scope="module")
def server(
    slapd: ManagedSlapd, sso_account: ServiceAccount, cast: Cast
) -> Iterator[tuple[radius.Radius, Path]]:
    """Run freeradius on the published files; yield it and the CA devices trust."""
    folder = radius.temporary_folder()
    (folder / "certs").mkdir()
    certs = make_certificates(folder / "certs", dns_names=(SERVER_NAME,))
    port = radius.free_udp_port()
    site = {
        EXAMPLE_URI: str(slapd.ldaps_url()),
        EXAMPLE_ACCOUNT: sso_account.dn,
        EXAMPLE_SECRET: sso_account.secret,
        EXAMPLE_CA: str(slapd.ca_file),
        EXAMPLE_CERTS + "radius.pem": str(certs.cert),
        EXAMPLE_CERTS + "radius.key": str(certs.key),
        EXAMPLE_CERTS + "ca.pem": str(certs.ca),
        "ipaddr = *": "ipaddr = 127.0.0.1",
        "port = 1812": f"port = {port}",
        EXAMPLE_CLIENTS: "127.0.0.1",
        EXAMPLE_CLIENT_SECRET: radius.SECRET,
    }
    published = published_files("freeradius")
    files = {
        name: for_site(text, {k: v for k, v in site.items() if k in text})
        for name, text in published.items()
    }
    unused = [k for k in site if not any(k in text for text in published.values())]
    assert not unused, f"the published configuration no longer contains {unused}"
    radius.write_config(folder, files)
    try:
        with radius.running(folder, port) as running:
            yield running, certs.ca
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def typist(config: Config, slapd: ManagedSlapd) -> Iterator[Person]:
    """A student of their own, for locks set by hand (the cast's must stay as they are)."""
    client = LdapClient(client_settings(config))
    services = build(config, client)
    new = NewPerson(full_name="Ong Jun Hao", role="student", password=PASSWORD)
    person = services.people.create(new)
    yield person
    services.people.delete(person.id)
    client.close()


def _lock(slapd: ManagedSlapd, person: Person, since: datetime) -> None:
    """Lock ``person`` as ppolicy does after too many wrong passwords, at ``since``."""
    with admin_connection(slapd) as admin:
        admin.search(f"ou=people,{slapd.suffix}", f"(mail={person.login_id})", attributes=["1.1"])
        (entry,) = admin.entries
        value = since.strftime("%Y%m%d%H%M%SZ")
        admin.modify(entry.entry_dn, {"pwdAccountLockedTime": [(ldap3.MODIFY_REPLACE, [value])]})


def _log_since(server: radius.Radius, mark: int) -> str:
    return server.log()[mark:]


def test_an_active_person_joins_by_uid_and_by_mail(
    server: tuple[radius.Radius, Path], cast: Cast
) -> None:
    # Accept first: with the directory unreachable every request is rejected, not timed out.
    running, _ = server
    for login in (cast.student.login_id.local, str(cast.student.login_id)):
        answer = radius.pap(running, login, cast.password)
        assert answer.accepted, f"{login}: {answer.text}\n{running.log()[-3000:]}"


def test_namesakes_each_join_as_themselves_by_uid(
    server: tuple[radius.Radius, Path], cast: Cast
) -> None:
    running, _ = server
    for person, ou in ((cast.student, "students"), (cast.teacher, "staff")):
        mark = len(running.log())
        answer = radius.pap(running, person.login_id.local, cast.password)
        assert answer.accepted, f"{person.login_id}: {_log_since(running, mark)[-3000:]}"
        bound_as = f'Bind as user "uid={person.login_id.local},ou={ou},ou=people,'
        assert bound_as in _log_since(running, mark)


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("wrong", "Bind credentials incorrect"),
        ("unknown", "mims: no such login ID"),
        ("locked", "mims: account locked"),
        ("disabled", "mims: account disabled"),
    ],
)
def test_refused_with_the_reason_in_the_log(
    server: tuple[radius.Radius, Path], cast: Cast, who: str, reason: str
) -> None:
    running, _ = server
    assert radius.pap(running, str(cast.student.login_id), cast.password).accepted
    people = {"wrong": cast.student, "locked": cast.locked, "disabled": cast.disabled}
    login = str(people[who].login_id) if who in people else "nobody_here@students.edu.sg"
    password = "Not-The-Password-1" if who == "wrong" else cast.password
    mark = len(running.log())
    answer = radius.pap(running, login, password)
    assert not answer.accepted
    assert answer.reply_message == "Login ID or password not accepted."
    log = _log_since(running, mark)
    assert reason in log, log[-3000:]
    assert "Login incorrect" in log


def test_a_lock_after_wrong_passwords_holds_until_it_lifts(
    server: tuple[radius.Radius, Path], slapd: ManagedSlapd, typist: Person
) -> None:
    # pwdAccountLockedTime stays after the lockout time until the next good bind: a policy
    # that refused on it alone would keep a student off the Wi-Fi for good.
    running, _ = server
    _lock(slapd, typist, datetime.now(UTC))
    mark = len(running.log())
    assert not radius.pap(running, str(typist.login_id), PASSWORD).accepted
    assert "after wrong passwords" in _log_since(running, mark)
    _lock(slapd, typist, datetime.now(UTC) - timedelta(days=2))
    assert radius.pap(running, str(typist.login_id), PASSWORD).accepted


def test_a_temporary_password_is_sent_to_the_portal(
    server: tuple[radius.Radius, Path], cast: Cast
) -> None:
    running, _ = server
    mark = len(running.log())
    answer = radius.pap(running, cast.must_change.login_id.local, cast.temporary)
    assert not answer.accepted
    assert PORTAL in answer.reply_message
    assert "mims: temporary password" in _log_since(running, mark)


def test_a_wrong_password_of_a_must_change_person_says_nothing_of_the_portal(
    server: tuple[radius.Radius, Path], cast: Cast
) -> None:
    running, _ = server
    answer = radius.pap(running, cast.must_change.login_id.local, "Not-The-Password-1")
    assert not answer.accepted
    assert PORTAL not in answer.reply_message


def test_eap_ttls_pap_joins_an_active_person_and_refuses_a_wrong_password(
    server: tuple[radius.Radius, Path], cast: Cast, tmp_path: Path
) -> None:
    running, ca = server
    login = str(cast.student.login_id)

    def join(password: str) -> bool:
        return radius.eap_ttls_pap(
            running, tmp_path, login, password, ca=ca, server_name=SERVER_NAME
        )

    assert join(cast.password), running.log()[-4000:]
    assert not join("Not-The-Password-1")


def test_eap_ttls_pap_refuses_a_temporary_password(
    server: tuple[radius.Radius, Path], cast: Cast, tmp_path: Path
) -> None:
    running, ca = server
    mark = len(running.log())
    joined = radius.eap_ttls_pap(
        running,
        tmp_path,
        cast.must_change.login_id.local,
        cast.temporary,
        ca=ca,
        server_name=SERVER_NAME,
    )
    assert not joined
    assert "mims: temporary password" in _log_since(running, mark)
