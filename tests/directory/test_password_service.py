"""The LDAP password service (`mims password-service`) as people reach it: OpenLDAP's `ldappasswd`.

The service runs as a real process over the session's slapd, on ldaps with a certificate from
the data folder's CA (trusted through LDAPTLS_CACERT, as a sysadmin would). Every change must
meet the portal's rules and say the portal's words.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.core import own_password
from bridge.core.people import NewPerson, Person, PersonChange
from bridge.directory import dn
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import PolicyViolation
from bridge.services import Services
from tests.support.cli import mims, serving
from tests.support.directory import SUFFIX
from tests.support.password_service import PasswordService as Service
from tests.support.password_service import running_password_service
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("ldappasswd") is None, reason="ldap-utils (ldappasswd) is not installed"
)

PASSWORD = "Mango-Kettle-Orbit-42"
NEW_PASSWORD = "Quartz-Pelican-Lantern-77"
SCHOOL = {"school": "Clementi Primary School", "level": "P4", "class_name": "4A"}


@pytest.fixture(scope="module")
def service(config: Config, slapd: ManagedSlapd) -> Iterator[Service]:
    with running_password_service(config, slapd) as running:
        yield running


def ldappasswd(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    """Run OpenLDAP's ldappasswd against the service, trusting the data folder's CA."""
    env = dict(os.environ) | {"LDAPTLS_CACERT": str(service.ca), "LDAPTLS_REQCERT": "demand"}
    return subprocess.run(
        ["ldappasswd", "-H", service.url, "-x", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], code: int, name: str) -> str:
    """Assert ldappasswd reported result ``code`` (``name``); return all it printed.

    A refused bind is ldap_bind's line on stderr (exit status: the code); a refused
    Password Modify is "Result: NAME (CODE)" and "Additional info: WORDS" on stdout (exit 1).
    """
    said = result.stdout + result.stderr
    assert result.returncode != 0, said
    assert f"{name} ({code})" in said, said
    return said


def student(services: Services, name: str = "Tan Mei Ling", **fields: object) -> Person:
    new = NewPerson(
        full_name=name,
        role="student",
        password=PASSWORD,
        given_name=name.split()[-1],
        family_name=name.split()[0],
        **(SCHOOL | fields),  # type: ignore[arg-type]
    )
    return services.people.create(new)


def signs_in(services: Services, person: Person, password: str) -> bool:
    return services.passwords.sign_in(services.people.get(person.id), password).ok


@pytest.mark.parametrize("by", ["login ID", "DN"])
def test_a_person_changes_their_password_and_only_the_new_one_signs_in(
    service: Service, services: Services, by: str
) -> None:
    person = student(services)
    name = str(person.login_id)
    if by == "DN":
        name = dn.person_dn(person.login_id.local, person.role, SUFFIX)
    result = ldappasswd(service, "-D", name, "-w", PASSWORD, "-s", NEW_PASSWORD)
    assert result.returncode == 0, result.stderr
    assert signs_in(services, person, NEW_PASSWORD)
    assert not signs_in(services, person, PASSWORD)


def test_the_ppolicy_request_control_on_the_bind_is_accepted(
    service: Service, services: Services
) -> None:
    # SSSD binds with it (not critical) before its Password Modify; the answer carries none.
    person = student(services)
    login = str(person.login_id)
    result = ldappasswd(service, "-e", "ppolicy", "-D", login, "-w", PASSWORD, "-s", NEW_PASSWORD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert signs_in(services, person, NEW_PASSWORD)


def test_the_old_password_may_be_given_as_well(service: Service, services: Services) -> None:
    person = student(services)
    login = str(person.login_id)
    args = ("-D", login, "-w", PASSWORD, "-a", PASSWORD, "-s", NEW_PASSWORD)
    result = ldappasswd(service, *args)
    assert result.returncode == 0, result.stderr
    assert signs_in(services, person, NEW_PASSWORD)


@pytest.mark.parametrize(
    "new",
    [
        "Mango-Kettle-Orbit-Fig",  # no digit: slapd's ppolicy cannot check classes
        "Tan-Mei-Ling-Kettle-42",  # the person's name
        "password1234",  # common, no capital
    ],
)
def test_a_password_slapd_cannot_judge_is_refused_with_the_portals_words(
    service: Service, services: Services, new: str
) -> None:
    person = student(services)
    with pytest.raises(PolicyViolation) as portal:
        services.passwords.check(person, new)  # what the portal checks and says
    result = ldappasswd(service, "-D", str(person.login_id), "-w", PASSWORD, "-s", new)
    assert str(portal.value) in refused(result, 19, "Constraint violation")
    assert signs_in(services, person, PASSWORD)


def test_a_password_used_before_is_refused_by_history(service: Service, services: Services) -> None:
    person = student(services)
    login = str(person.login_id)
    assert ldappasswd(service, "-D", login, "-w", PASSWORD, "-s", NEW_PASSWORD).returncode == 0
    result = ldappasswd(service, "-D", login, "-w", NEW_PASSWORD, "-s", PASSWORD)
    refused(result, 19, "Constraint violation")
    assert signs_in(services, person, NEW_PASSWORD)


def test_a_wrong_password_is_refused_at_bind(service: Service, services: Services) -> None:
    person = student(services)
    result = ldappasswd(
        service, "-D", str(person.login_id), "-w", "Not-The-Password-1", "-s", NEW_PASSWORD
    )
    assert own_password.WRONG_SIGN_IN in refused(result, 49, "Invalid credentials")
    assert signs_in(services, person, PASSWORD)


def test_a_wrong_old_password_is_refused(service: Service, services: Services) -> None:
    person = student(services)
    args = (
        "-D",
        str(person.login_id),
        "-w",
        PASSWORD,
        "-a",
        "Not-The-Password-1",
        "-s",
        NEW_PASSWORD,
    )
    result = ldappasswd(service, *args)
    assert own_password.WRONG_CURRENT in refused(result, 49, "Invalid credentials")
    assert signs_in(services, person, PASSWORD)


def test_wrong_passwords_count_toward_the_lock(service: Service, services: Services) -> None:
    person = student(services)
    for _ in range(5):  # the mims policy's max_failures
        wrong = ("-D", str(person.login_id), "-w", "Not-The-Password-1", "-s", NEW_PASSWORD)
        refused(ldappasswd(service, *wrong), 49, "Invalid credentials")
    assert services.people.get(person.id).lock.locked
    result = ldappasswd(service, "-D", str(person.login_id), "-w", PASSWORD, "-s", NEW_PASSWORD)
    refused(result, 49, "Invalid credentials")


def test_a_must_change_person_replaces_the_temporary_password(
    service: Service, services: Services
) -> None:
    person = student(services)
    temporary = services.passwords.reset(person, "tests")
    assert services.passwords.sign_in(person, temporary).must_change
    result = ldappasswd(service, "-D", str(person.login_id), "-w", temporary, "-s", NEW_PASSWORD)
    assert result.returncode == 0, result.stderr
    after = services.passwords.sign_in(services.people.get(person.id), NEW_PASSWORD)
    assert (after.ok, after.must_change) == (True, False)


def test_a_disabled_person_is_refused(service: Service, services: Services) -> None:
    person = student(services)
    services.people.update(person.id, PersonChange(disabled=True))
    result = ldappasswd(service, "-D", str(person.login_id), "-w", PASSWORD, "-s", NEW_PASSWORD)
    refused(result, 49, "Invalid credentials")
    services.people.update(person.id, PersonChange(disabled=False))
    assert signs_in(services, person, PASSWORD)


def test_someone_elses_password_is_refused(service: Service, services: Services) -> None:
    person, other = student(services), student(services, "Lim Wei Jie")
    args = ("-D", str(person.login_id), "-w", PASSWORD, "-s", NEW_PASSWORD, str(other.login_id))
    result = ldappasswd(service, *args)
    assert "only your own password" in refused(result, 50, "Insufficient access")
    assert signs_in(services, other, PASSWORD)


def test_a_generated_password_is_refused(service: Service, services: Services) -> None:
    person = student(services)
    result = ldappasswd(service, "-D", str(person.login_id), "-w", PASSWORD)
    assert "does not make one up" in refused(result, 53, "Server is unwilling to perform")


def test_the_root_dse_says_what_it_supports(service: Service) -> None:
    env = dict(os.environ) | {"LDAPTLS_CACERT": str(service.ca)}
    result = subprocess.run(
        ["ldapsearch", "-H", service.url, "-x", "-LLL", "-b", "", "-s", "base", "+"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "supportedExtension: 1.3.6.1.4.1.4203.1.11.1" in result.stdout
    assert "supportedControl: 1.3.6.1.4.1.42.2.27.8.5.1" in result.stdout
    assert "supportedLDAPVersion: 3" in result.stdout


def test_other_operations_are_refused_with_a_reason(service: Service) -> None:
    env = dict(os.environ) | {"LDAPTLS_CACERT": str(service.ca)}
    result = subprocess.run(
        ["ldapsearch", "-H", service.url, "-x", "-o", "ldif-wrap=no", "-b", SUFFIX, "(uid=*)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 53, result.stdout + result.stderr
    assert "result: 53 Server is unwilling to perform" in result.stdout
    assert "only changes passwords" in result.stdout


def tls_socket(service: Service) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(service.ca))
    raw = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def read_until_closed(connection: ssl.SSLSocket) -> bytes:
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize(
    "payload",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not an LDAP message at all
        b"\x30\x05\x02\x01\x01\x04\x00",  # a SEQUENCE that is no LDAPMessage
        b"\x30\x84\x00\x10\x00\x00" + b"\x00" * 64,  # announces 1 MiB: over the limit
        b"\x30\x80\x02\x01\x01",  # indefinite length
    ],
)
def test_bad_input_closes_the_connection_without_a_traceback(
    service: Service, payload: bytes
) -> None:
    with tls_socket(service) as connection:
        connection.sendall(payload)
        received = read_until_closed(connection)
    # At most the notice of disconnection (RFC 4511 4.4.1), then the connection is closed.
    assert received == b"" or b"1.3.6.1.4.1.1466.20036" in received
    assert "Traceback" not in service.output()
    # And the service still answers.
    root_dse_answers(service)


def root_dse_answers(service: Service) -> None:
    env = dict(os.environ) | {"LDAPTLS_CACERT": str(service.ca)}
    result = subprocess.run(
        [
            "ldapsearch",
            "-H",
            service.url,
            "-x",
            "-LLL",
            "-b",
            "",
            "-s",
            "base",
            "supportedExtension",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_no_password_reaches_the_logs(
    service: Service, services: Services, slapd: ManagedSlapd
) -> None:
    person = student(services)
    temporary = services.passwords.reset(person, "tests")
    login = str(person.login_id)
    ldappasswd(service, "-D", login, "-w", "Wrong-Password-Typed-9", "-s", NEW_PASSWORD)
    ldappasswd(service, "-D", login, "-w", temporary, "-s", "nodigitsinhere-Only")
    assert ldappasswd(service, "-D", login, "-w", temporary, "-s", NEW_PASSWORD).returncode == 0
    logs = service.output()
    audit = slapd.layout.root / "audit.log"
    if audit.exists():
        logs += audit.read_text()
    assert "password changed from" in service.output()
    assert login not in service.output()  # nor the login ID (the audit trail names it)
    for secret in ("Wrong-Password-Typed-9", temporary, "nodigitsinhere-Only", NEW_PASSWORD):
        assert secret not in logs


def test_mims_serve_runs_the_service_beside_the_web_server_and_stops_it() -> None:
    with serving() as served:
        port = int(served.env["MIMS_PASSWORD_PORT"])
        url = f"ldaps://127.0.0.1:{port}"
        assert f"password     {url}" in served.output()
        ca = Path(served.env["MIMS_DATA_DIR"]) / "tls" / "ca.pem"
        root_dse_answers(Service(url, ca, Path(os.devnull), port))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_mims_serve_refuses_a_password_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "HOME": str(tmp_path),
            "MIMS_DATA_DIR": str(tmp_path / "d"),
            "MIMS_LDAP_PORT": str(free_port()),
            "MIMS_LDAPS_PORT": str(free_port()),
            "MIMS_HTTP_PORT": str(free_port()),
            "MIMS_PASSWORD_PORT": str(port),
        }
        result = mims("serve", env=env)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    expected = f"Error: password_service: cannot listen on 127.0.0.1:{port}: in use"
    assert line.startswith(expected), line
    assert "Traceback" not in result.stderr


def test_a_change_is_in_the_audit_trail_as_the_persons_own(
    service: Service, services: Services, slapd: ManagedSlapd
) -> None:
    person = student(services)
    login = str(person.login_id)
    assert ldappasswd(service, "-D", login, "-w", PASSWORD, "-s", NEW_PASSWORD).returncode == 0
    lines = (slapd.layout.root / "audit.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    changes = [
        e for e in events if e["operation"] == "password.change" and e["target"] == person.id
    ]
    assert [(e["door"], e["source"], e["outcome"]) for e in changes] == [
        ("ldap", "127.0.0.1", "success")
    ]


def test_a_client_without_tls_is_closed_without_a_traceback(service: Service) -> None:
    # ldap:// to an ldaps:// port: a bind request in clear text where a TLS hello belongs.
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00")
        while connection.recv(4096):
            pass
    root_dse_answers(service)
    assert "Traceback" not in service.output()
