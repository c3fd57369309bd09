"""The raw side of the SCIM phases: plain ldap3, bound as the bridge binds, doing one thing each.

A raw client talks to the same slapd over TCP (ldaps, as the bridge does: slapd refuses a
password without TLS) as the bridge's service account (ACLs apply, ppolicy applies), with
ldap3 set up as the bridge sets it up (no schema read), and asks for the same attributes the
bridge reads. What is left between the two sides is the bridge: HTTP, Flask, SCIM parsing and
rendering, and the extra LDAP requests it makes.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ldap3 import NONE, SUBTREE, Connection, Server, Tls

from bridge.directory import dn, mapping
from bridge.directory.client import ClientSettings, LdapClient


@dataclass(frozen=True)
class Account:
    """Where a directory is and as whom to bind."""

    url: str
    bind_dn: str
    password: str
    suffix: str
    ca_file: str = ""  # the CA that signed the server's certificate (ldaps://)

    @property
    def people_base(self) -> str:
        return dn.people_base(self.suffix)

    def bridge_client(self) -> LdapClient:
        """Return the bridge's own LDAP client bound as this account to this one server."""
        return LdapClient(
            ClientSettings(
                urls=(self.url,),
                bind_dn=self.bind_dn,
                password=self.password,
                suffix=self.suffix,
                ca_file=self.ca_file,
            )
        )


class RawLdap:
    """One bound ldap3 connection that a client thread owns."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.connection = Connection(
            Server(account.url, get_info=NONE, tls=_tls(account.ca_file)),
            user=account.bind_dn,
            password=account.password,
            raise_exceptions=True,
        )
        self.connection.open(read_server_info=False)
        self.connection.bind(read_server_info=False)

    def find_person(
        self, attribute: str, value: str, attributes: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Search people for ``attribute=value`` with the filter and attributes the bridge uses."""
        self.connection.search(
            self.account.people_base,
            f"(&(objectClass=mimsPerson){dn.equals(attribute, value)})",
            SUBTREE,
            attributes=attributes or mapping.PERSON_READ,
        )
        return [e for e in self.connection.response if e.get("type") == "searchResEntry"]

    def pages(
        self, size: int, attributes: list[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every person in pages of ``size`` (simple paged results, RFC 2696)."""
        cookie: bytes | None = None
        while True:
            self.connection.search(
                self.account.people_base,
                "(objectClass=mimsPerson)",
                SUBTREE,
                attributes=attributes or mapping.PERSON_READ,
                paged_size=size,
                paged_cookie=cookie,
            )
            yield [e for e in self.connection.response if e.get("type") == "searchResEntry"]
            control = self.connection.result.get("controls", {}).get("1.2.840.113556.1.4.319")
            cookie = control["value"]["cookie"] if control else None
            if not cookie:
                return

    def close(self) -> None:
        self.connection.unbind()


def _tls(ca_file: str) -> Tls | None:
    """Return ldap3's TLS settings checking the server against ``ca_file``, as the bridge does."""
    if not ca_file:
        return None
    return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
