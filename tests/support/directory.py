"""The test directory: its suffix, a config pointed at it, and rootDN connections to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ldap3

from bridge.config import Config, load_config
from bridge.directory.client import ClientSettings
from bridge.directory.slapd import ManagedSlapd

SUFFIX = "dc=mims,dc=example"

# A maker of ClientSettings (the settings_for fixture): the slapd whose account binds, then URLs.
Settings = Callable[..., ClientSettings]


def make_config(data_dir: Path, port: int = 1389, **env: str) -> Config:
    """Return the default config pointed at a test data folder, with disk sync off."""
    variables = {
        "HOME": str(data_dir.parent),
        "MIMS_DATA_DIR": str(data_dir),
        "MIMS_LDAP_PORT": str(port),
    }
    config = load_config(env=variables | env)
    return config.with_overrides(slapd={"no_sync": True})


@contextmanager
def closing(connection: ldap3.Connection) -> Iterator[ldap3.Connection]:
    """Unbind on leaving (ldap3's own `with` leaves an auto-bound connection open)."""
    try:
        yield connection
    finally:
        connection.unbind()


@contextmanager
def admin_connection(slapd: ManagedSlapd) -> Iterator[ldap3.Connection]:
    """Yield a rootDN connection: SASL EXTERNAL over the data folder's ldapi socket."""
    server = ldap3.Server(slapd.ldapi_url, get_info=ldap3.NONE)
    connection = ldap3.Connection(
        server,
        authentication=ldap3.SASL,
        sasl_mechanism=ldap3.EXTERNAL,
        sasl_credentials="",  # "" asks slapd to use the peer credentials; None stalls
        auto_bind=True,
        raise_exceptions=True,
    )
    with closing(connection):
        yield connection


@contextmanager
def bound(
    slapd: ManagedSlapd, who: str | None = None, password: str = ""
) -> Iterator[ldap3.Connection]:
    """Yield a connection bound as ``who`` by password (unbound, so anonymous, when None).

    The one place tests bind as a person or a service account: over the data folder's ldapi
    socket, so a directory that refuses plain simple binds over TCP still answers. Results
    are returned, not raised, so a test can assert what was refused.
    """
    server = ldap3.Server(slapd.ldapi_url, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, who, password if who else None)
    with closing(connection):
        connection.open()
        if who is not None and not connection.bind():
            raise AssertionError(f"{who} could not bind: {connection.result['description']}")
        yield connection
