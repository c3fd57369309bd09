"""The test directory: its suffix, a config pointed at it, and rootDN connections to it."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ldap3

from bridge.config import Config, load_config
from bridge.directory.client import ClientSettings
from bridge.directory.slapd import ManagedSlapd

SUFFIX = "dc=mims,dc=example"

# A maker of ClientSettings (the settings_for fixture): the slapd whose account binds, then URLs.
Settings = Callable[..., ClientSettings]


def make_config(data_dir: Path, port: int = 1389, ldaps_port: int = 1636, **env: str) -> Config:
    """Return the default config pointed at a test data folder, with disk sync off."""
    variables = {
        "HOME": str(data_dir.parent),
        "MIMS_DATA_DIR": str(data_dir),
        "MIMS_LDAP_PORT": str(port),
        "MIMS_LDAPS_PORT": str(ldaps_port),
    }
    config = load_config(env=variables | env)
    return config.with_overrides(slapd={"no_sync": True})


def ldaps_server(slapd: ManagedSlapd) -> ldap3.Server:
    """Return slapd's ldaps:// server, its certificate checked against the data folder's CA.

    A simple bind over plain TCP is refused ("confidentiality required"), so people and
    service accounts bind over TLS, as SSO tools and ldapsearch do.
    """
    url = slapd.ldaps_url()
    assert url is not None, "this slapd was started without an ldaps port"
    return ldap3.Server(url, use_ssl=True, tls=_CheckedTls(str(slapd.ca_file)), get_info=ldap3.NONE)


class _CheckedTls(ldap3.Tls):  # type: ignore[misc]
    """ldap3's Tls with the standard library's host name check (ldap3 2.9.1's is deprecated)."""

    def __init__(self, ca_file: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self.context = ssl.create_default_context(cafile=ca_file)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self.context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host,
        )


def tls_environment(slapd: ManagedSlapd) -> dict[str, str]:
    """Return the environment in which OpenLDAP's tools (ldapsearch) trust slapd's CA."""
    return dict(os.environ) | {"LDAPTLS_CACERT": str(slapd.ca_file), "LDAPTLS_REQCERT": "demand"}


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
