"""API tokens in the directory: ``mimsToken`` entries under ou=tokens,ou=services.

Only the bridge's service account can read ``mimsTokenHash`` (see slapd_config.access_rules).
"""

from __future__ import annotations

from typing import Any

from ldap3 import LEVEL, Connection

from bridge.core.tokens import SCOPES, Scope, TokenInfo
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.mapping import generalized_time
from bridge.errors import AlreadyExists, NameTaken, NotFound

TOKEN_READ = ["cn", "mimsTokenScope", "description", "createTimestamp"]


class TokenStore:
    """Store, list, find and revoke API tokens by their hash."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    @property
    def base(self) -> str:
        """Return the OU that holds tokens."""
        return dn.tokens_base(self.suffix)

    def create(
        self, name: str, hashed: str, scopes: tuple[Scope, ...], description: str | None = None
    ) -> None:
        """Store a token's hash under a unique name; AlreadyExists if the name is used."""
        self._ensure_base()
        attributes: dict[str, list[str]] = {
            "objectClass": ["top", "mimsToken"],
            "cn": [name],
            "mimsTokenHash": [hashed],
            "mimsTokenScope": list(scopes),
        }
        if description:
            attributes["description"] = [description]
        entry = dn.token_dn(name, self.suffix)
        try:
            self.directory.add(entry, attributes)
        except NameTaken:
            raise AlreadyExists(f"a token named {name!r} already exists") from None

    def list(self) -> list[TokenInfo]:
        """Return every token's name and scopes, by name."""

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(self.base, "(objectClass=mimsToken)", LEVEL, attributes=TOKEN_READ)
            return list(connection.response)

        try:
            entries = self.directory.run(read)
        except NotFound:  # no token was ever made: ou=tokens does not exist yet
            return []
        return sorted((_info(entry) for entry in entries), key=lambda info: info.name)

    def find(self, hashed: str) -> tuple[TokenInfo, str] | None:
        """Return the token with this hash and its stored hash, or None."""

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                self.base,
                f"(&(objectClass=mimsToken){dn.equals('mimsTokenHash', hashed)})",
                LEVEL,
                attributes=[*TOKEN_READ, "mimsTokenHash"],
                size_limit=2,
            )
            return list(connection.response)

        try:
            entries = self.directory.run(read)
        except NotFound:
            return None
        if len(entries) != 1:
            return None
        stored = entries[0]["raw_attributes"]["mimsTokenHash"][0].decode()
        return _info(entries[0]), stored

    def revoke(self, name: str) -> None:
        """Delete a token; NotFound if there is none of that name."""
        entry = dn.token_dn(name, self.suffix)
        try:
            self.directory.run(lambda c: c.delete(entry), retry=False)
        except NotFound:
            raise NotFound(f"no token is named {name!r}") from None

    def _ensure_base(self) -> None:
        attributes = {"objectClass": ["top", "organizationalUnit"], "ou": ["tokens"]}
        try:
            self.directory.add(self.base, attributes)
        except NameTaken:
            pass


def _info(entry: dict[str, Any]) -> TokenInfo:
    raw = {key.lower(): value for key, value in entry["raw_attributes"].items()}
    scopes = tuple(
        scope for scope in SCOPES if scope.encode() in {v.lower() for v in raw["mimstokenscope"]}
    )
    description = raw.get("description") or []
    created = raw.get("createtimestamp") or []
    return TokenInfo(
        name=raw["cn"][0].decode(),
        scopes=scopes,
        description=description[0].decode() if description else None,
        created=generalized_time(created[0].decode()) if created else None,
    )
