"""Fixtures that build on each other: slapd -> config -> directory -> app -> client.

One real slapd per test session, started through the same code as `mims slapd`, on a free port
in a temp folder; each test that writes gets the people and groups subtrees emptied after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Backend, Services, build
from tests.support.directory import SUFFIX, admin_connection, make_config
from tests.support.ports import free_port

# The test files that take longest (measured with --durations under coverage, on 2 cores):
# those of 40 s or more, longest first. `make test` hands whole files to its two workers in the
# order collected here (--dist loadfile --no-loadscope-reorder): started first, they run beside
# the many short files, instead of one worker running them alone at the end. A file missing
# from the list only starts later; a stale order costs minutes, never a result.
LONGEST_FILES = (
    "tests/test_cli_backup.py",
    "tests/test_cli_people.py",
    "tests/test_bench.py",
    "tests/test_cli_admin.py",
    "tests/security/test_lockout.py",
    "tests/test_https.py",
    "tests/e2e/test_portal_browser.py",
    "tests/security/test_sqlite_files.py",
    "tests/test_slapd_tls.py",
    "tests/provisioning/test_cli_sync.py",
    "tests/e2e/test_console_browser.py",
    "tests/test_cli_services.py",
    "tests/directory/test_acl_matrix.py",
    "tests/provisioning/test_sync_e2e.py",
    "tests/provisioning/test_sync_lease.py",
    "tests/security/test_throttle.py",
    "tests/test_cli_groups.py",
    "tests/security/test_role_follows_address.py",
    "tests/directory/test_replication.py",
    "tests/directory/test_write_target.py",
    "tests/directory/test_password_service.py",
    "tests/errors/test_front_doors.py",
    "tests/test_cli_portal.py",
    "tests/test_supervision.py",
    "tests/security/test_audit.py",
    "tests/test_doctor.py",
    "tests/test_packaging.py",
    "tests/deploy/test_systemd.py",
    "tests/test_cli_passwords.py",
    "tests/test_cli.py",
    "tests/observability/test_metrics.py",
    "tests/admin/test_scoped_console.py",
)

# Groups first: a person deleted while still a member makes slapd's refint overlay rewrite
# each of their groups (a school's has thousands of members); with the groups gone, a person's
# delete touches nothing else. Clearing 3,000 imported people: slapd's CPU 32 s -> 17 s.
CLEARED_SUBTREES = (
    "ou=groups",
    "ou=students,ou=people",
    "ou=staff,ou=people",
    "ou=hq,ou=people",
    "ou=requests,ou=services",
)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedSlapd]:
    server = ManagedSlapd(tmp_path_factory.mktemp("slapd") / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port(), free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def config(slapd: ManagedSlapd) -> Config:
    url, ldaps_url = slapd.ldap_url(), slapd.ldaps_url()
    assert url is not None and ldaps_url is not None
    port, ldaps_port = (int(u.rsplit(":", 1)[1]) for u in (url, ldaps_url))
    config = make_config(slapd.layout.root, port=port, ldaps_port=ldaps_port)
    client = LdapClient(client_settings(config))
    build(config, client).passwords.sync_policies()  # as every `mims` command does
    client.close()
    return config


@pytest.fixture
def admin(slapd: ManagedSlapd) -> Iterator[ldap3.Connection]:
    with admin_connection(slapd) as connection:
        yield connection


@pytest.fixture
def directory(config: Config, slapd: ManagedSlapd) -> Iterator[LdapClient]:
    client = LdapClient(client_settings(config))
    yield client
    client.close()
    _clear(slapd)


@pytest.fixture
def services(config: Config, directory: LdapClient) -> Services:
    return build(config, directory)


@pytest.fixture
def people_store(config: Config, directory: LdapClient) -> PeopleStore:
    """The directory's people store itself, with its groups: what tests of the directory
    layer reach (``services`` wraps the same stores for the audit trail)."""
    return Backend(config, directory).people


@pytest.fixture
def app(config: Config, directory: LdapClient) -> Flask:
    application = create_app(config, client=directory)
    application.testing = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _clear(slapd: ManagedSlapd) -> None:
    """Delete everything below the people and group OUs, deepest entries first."""
    with admin_connection(slapd) as connection:
        for subtree in CLEARED_SUBTREES:
            base = f"{subtree},{SUFFIX}"
            connection.search(base, "(objectClass=*)", ldap3.SUBTREE, attributes=["1.1"])
            below = [e.entry_dn for e in connection.entries if e.entry_dn != base]
            for dn in sorted(below, key=lambda dn: dn.count(","), reverse=True):
                connection.delete(dn)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the test files: LONGEST_FILES first, then the rest by number of tests, most first."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    rank = {name: place for place, name in enumerate(LONGEST_FILES)}
    order = sorted(files, key=lambda name: (rank.get(name, len(rank)), -len(files[name])))
    items[:] = [item for name in order for item in files[name]]
