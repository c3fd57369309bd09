"""Service accounts: ``cn=<name>,ou=services`` entries, each a member of one role group.

The role groups (``ou=roles,ou=services``, made with the directory or by the upgrade to
version 5) are what the access rules name (``slapd_config.access_rules``), so an account gets
its rights by joining a group and loses them by leaving it. Secrets are sent in clear over
the bridge's connection and hashed by slapd itself (olcPPolicyHashCleartext, {ARGON2}); the
accounts fall under the default password policy, which never locks them.
"""

from __future__ import annotations

import shlex
from typing import Any

from ldap3 import LEVEL, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection

from bridge.core.service_accounts import BRIDGE_ACCOUNT, ROLES, ServiceAccount, ServiceRole
from bridge.directory import dn, mapping, slapd_config
from bridge.directory.client import LdapClient
from bridge.directory.mapping import generalized_time
from bridge.directory.passwords import write_password
from bridge.errors import AlreadyExists, NameTaken, NotFound

ACCOUNT_CLASSES = ["top", "organizationalRole", "simpleSecurityObject"]
ACCOUNT_FILTER = "(objectClass=simpleSecurityObject)"
ACCOUNT_READ = ["cn", "createTimestamp", "pwdChangedTime"]


class ServiceAccountStore:
    """Make, list, rotate and revoke service accounts; their roles are group memberships."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def create(self, name: str, role: ServiceRole, secret: str) -> ServiceAccount:
        """Make an account in ``role``; nothing is left behind if joining the role fails."""
        entry = dn.service_account_dn(name, self.suffix)
        attributes = {
            "objectClass": ACCOUNT_CLASSES,
            "cn": [name],
            "description": [f"Service account in the {role} role (mims service)"],
            "userPassword": [secret],
        }
        try:
            self.directory.add(entry, attributes)
        except NameTaken:
            raise AlreadyExists(f"a service account named {name!r} already exists") from None
        try:
            self._join(entry, role)
        except BaseException:
            self.directory.run(lambda c: c.delete(entry), retry=False)
            raise
        return self._get(name)

    def list(self) -> list[ServiceAccount]:
        """Return every account under ou=services with its role, by name."""
        members = self._members()

        def read(connection: Connection) -> list[dict[str, Any]]:
            base = dn.services_base(self.suffix)
            connection.search(base, ACCOUNT_FILTER, LEVEL, attributes=ACCOUNT_READ)
            return list(connection.response)

        entries = [e for e in self.directory.run(read) if e.get("type") == "searchResEntry"]
        accounts = [self._account(entry, members) for entry in entries]
        return sorted(accounts, key=lambda account: account.name)

    def rotate(self, name: str, secret: str) -> ServiceAccount:
        """Replace an account's secret; the old one stops binding at once."""
        entry = self._existing(name)
        write_password(self.directory, entry, {"userPassword": [(MODIFY_REPLACE, [secret])]})
        return self._get(name)

    def revoke(self, name: str) -> None:
        """Take the account out of every role, then delete it."""
        entry = self._existing(name)
        for role, accounts in self._members().items():
            if dn.normalised(entry) in accounts:
                self._leave(entry, role)
        self.directory.run(lambda c: c.delete(entry), retry=False)

    # -- reading -------------------------------------------------------------------------------

    def _get(self, name: str) -> ServiceAccount:
        found = [account for account in self.list() if account.name == name]
        if not found:
            raise NotFound(f"no service account is named {name!r}")
        return found[0]

    def _existing(self, name: str) -> str:
        """Return the DN of a service account made by `mims service` (never the bridge's)."""
        if name == BRIDGE_ACCOUNT:
            raise NotFound(
                f"{name!r} is the bridge's own account: `mims service` does not change it"
            )
        account = self._get(name)
        return account.dn

    def _members(self) -> dict[ServiceRole, set[tuple[tuple[str, str], ...]]]:
        """Return each role's members, as normalised DNs (none when the roles are missing)."""

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                dn.roles_base(self.suffix),
                mapping.IS_GROUP,
                LEVEL,
                attributes=["cn", "member"],
            )
            return list(connection.response)

        try:
            entries = self.directory.run(read)
        except NotFound:  # a directory made before version 5, not upgraded yet
            return {}
        members: dict[ServiceRole, set[tuple[tuple[str, str], ...]]] = {}
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            raw = _lower_keys(entry["raw_attributes"])
            name = raw["cn"][0].decode()
            role = next((known for known in ROLES if known == name), None)
            if role is not None:
                values = [value.decode() for value in raw.get("member", []) if value]
                members[role] = {dn.normalised(value) for value in values}
        return members

    def _account(
        self, entry: dict[str, Any], members: dict[ServiceRole, set[tuple[tuple[str, str], ...]]]
    ) -> ServiceAccount:
        raw = _lower_keys(entry["raw_attributes"])
        key = dn.normalised(str(entry["dn"]))
        role = next((r for r in ROLES if key in members.get(r, set())), None)
        created = raw.get("createtimestamp") or []
        changed = raw.get("pwdchangedtime") or []
        return ServiceAccount(
            name=raw["cn"][0].decode(),
            dn=str(entry["dn"]),
            role=role,
            bridge=key == dn.normalised(slapd_config.service_dn(self.suffix)),
            created=generalized_time(created[0].decode()) if created else None,
            secret_changed=generalized_time(changed[0].decode()) if changed else None,
        )

    # -- writing -------------------------------------------------------------------------------

    def _join(self, entry: str, role: ServiceRole) -> None:
        group = dn.role_group_dn(role, self.suffix)
        change = {"member": [(MODIFY_ADD, [entry])]}
        try:
            self.directory.run(lambda c: c.modify(group, change), retry=False)
        except NotFound:  # an external directory set up before roles existed: make them
            self._ensure_roles()
            self.directory.run(lambda c: c.modify(group, change), retry=False)

    def _leave(self, entry: str, role: ServiceRole) -> None:
        group = dn.role_group_dn(role, self.suffix)
        change = {"member": [(MODIFY_DELETE, [entry])]}
        self.directory.run(lambda c: c.modify(group, change), retry=False)

    def _ensure_roles(self) -> None:
        for entry, attributes in slapd_config.service_roles(self.suffix):
            values: dict[str, list[str]] = {}
            for name, value in attributes:
                values.setdefault(name, []).append(str(value))
            try:
                self.directory.add(entry, values)
            except NameTaken:
                pass


def search_command(
    url: str,
    account: str,
    secret_file: str | None,
    suffix: str,
    starttls: bool = False,
    ca_file: str = "",
) -> str:
    """Return an ``ldapsearch`` line that binds as ``account`` and reads people's addresses.

    With no secret file (the secret was shown once) ldapsearch asks for it (``-W``). The TLS
    flags follow the bridge's own: ``-ZZ`` for StartTLS, ``LDAPTLS_CACERT`` for its CA file.
    """
    secret = ["-y", secret_file] if secret_file else ["-W"]
    words = [
        *("ldapsearch", "-x", "-LLL", *(["-ZZ"] if starttls else []), "-H", url),
        *("-D", account, *secret),
        *("-b", dn.people_base(suffix), "(objectClass=inetOrgPerson)", "mail"),
    ]
    line = shlex.join(words)
    return f"LDAPTLS_CACERT={shlex.quote(ca_file)} {line}" if ca_file else line


def _lower_keys(raw: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    return {key.lower(): value for key, value in raw.items()}
