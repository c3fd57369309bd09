"""Groups' e-mail addresses in the directory: given at the group's add, or later by a backfill.

An address is ``mail`` on the auxiliary class ``mimsGroupAddress``. The unique overlay refuses
a ``mail`` that any other entry in the tree holds (constraintViolation "non-unique", which
``errors.translated`` turns into AlreadyExists); under ``ou=groups`` ``mail`` is the only unique
attribute, so that refusal means "this address is taken: try the next".

The overlay is not atomic, though: it searches before the write and outside the backend's
transaction, so two adds at the same moment can both pass it (eight threads making namesake
groups did, here). So after each write the address is looked up again, and while another entry
shares it the group moves on to a later number. Of two racing writes, the one that lands second
always sees the first when it looks, so at least one moves; both may, which only skips numbers.
"""

from __future__ import annotations

import random

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_REPLACE, SUBTREE, Connection

from bridge.core import group_address
from bridge.core.group_address import AddressRules
from bridge.directory import controls, dn
from bridge.directory.client import LdapClient
from bridge.errors import AlreadyExists, InvalidValue, NameTaken, NotFound, PreconditionFailed

ADDRESS_CLASS = "mimsGroupAddress"
# Past this many taken addresses something is wrong (a loop, not a popular name).
MAX_ATTEMPTS = 10_000
# Adding a value already there (the class on a group that lost only its mail) is not an error.
PERMISSIVE_MODIFY = ("1.2.840.113556.1.4.1413", False, None)
# The backfill writes only to a group that still has no address (RFC 4528).
_HAS_NO_ADDRESS = "(!(mail=*))"
_PAGE = 500


class GroupAddresses:
    """Give groups their addresses: in the same add that makes the group, or afterwards."""

    def __init__(self, directory: LdapClient, suffix: str, rules: AddressRules) -> None:
        self.directory = directory
        self.suffix = suffix
        self.rules = rules

    def add_group(self, group: str, attributes: dict[str, list[str]], name: str) -> str:
        """Add a group entry with the first free address for its name; return the address.

        NameTaken when an entry with that DN exists already: nothing is written then.
        """
        base = group_address.base_local_part(name, self.rules)
        n = 1
        for _ in range(MAX_ATTEMPTS):
            address = self.rules.address(group_address.with_suffix(base, n, self.rules))
            entry = attributes | {
                "objectClass": [*attributes["objectClass"], ADDRESS_CLASS],
                "mail": [address],
            }
            try:
                self._add(group, entry)
            except NameTaken:
                raise
            except AlreadyExists:
                if self._exists(group):  # the address may be this group's, made meanwhile
                    raise NameTaken("a group with that name already exists") from None
                n = self._next(base, n)
                continue
            return self._settle(group, base, n)
        raise InvalidValue(f"could not find a free address for the group {name!r}")

    def give(self, group: str, name: str) -> str | None:
        """Give a group without an address the first free one; None if it has one by now.

        None too when the group is gone (deleted since it was listed): nothing to give.
        """
        base = group_address.base_local_part(name, self.rules)
        n = 1
        for _ in range(MAX_ATTEMPTS):
            address = self.rules.address(group_address.with_suffix(base, n, self.rules))
            try:
                self._add_address(group, address)
            except (PreconditionFailed, NotFound):
                return None  # another run gave it one (keep that), or it was deleted
            except AlreadyExists:
                n = self._next(base, n)
                continue
            return self._settle(group, base, n)
        raise InvalidValue(f"could not find a free address for the group {name!r}")

    def plan(self, name: str, planned: set[str]) -> str:
        """Return the address ``give`` would choose now, besides those already ``planned``."""
        base = group_address.base_local_part(name, self.rules)
        n = 1
        for _ in range(MAX_ATTEMPTS):
            address = self.rules.address(group_address.with_suffix(base, n, self.rules))
            if address not in planned and not self._taken(address):
                planned.add(address)
                return address
            n = self._next(base, n)
        raise InvalidValue(f"could not find a free address for the group {name!r}")

    def missing(self) -> list[tuple[str, str]]:
        """Return (DN, name) of every group under ou=groups that has no address, by pages."""

        def read(connection: Connection) -> list[tuple[str, str]]:
            results = connection.extend.standard.paged_search(
                dn.groups_base(self.suffix),
                f"(&(objectClass=groupOfNames){_HAS_NO_ADDRESS})",
                LEVEL,
                attributes=["cn"],
                paged_size=_PAGE,
                generator=True,
            )
            found = []
            for entry in results:
                if entry.get("type") == "searchResEntry":
                    group = str(entry["dn"])
                    found.append((group, dn.first_value(group)))
            return found

        return self.directory.run(read)

    def _settle(self, group: str, base: str, n: int) -> str:
        """Return the group's address (suffix n) once no other entry shares it; move on if one does.

        A random extra step keeps two racing groups from moving in lockstep to the same number.
        """
        current = self.rules.address(group_address.with_suffix(base, n, self.rules))
        for _ in range(MAX_ATTEMPTS):
            if self._holders(current) <= 1:
                return current
            n = self._next(base, n) + random.randrange(3)
            wanted = self.rules.address(group_address.with_suffix(base, n, self.rules))
            try:
                self._replace_address(group, wanted)
            except AlreadyExists:
                continue  # taken too: the next round goes past it
            current = wanted
        raise InvalidValue(f"could not find a free address for {group!r}")

    def _add(self, group: str, attributes: dict[str, list[str]]) -> None:
        self.directory.add(group, attributes)

    def _add_address(self, group: str, address: str) -> None:
        changes = {
            "objectClass": [(MODIFY_ADD, [ADDRESS_CLASS])],
            "mail": [(MODIFY_ADD, [address])],
        }
        asserted = [PERMISSIVE_MODIFY, controls.assertion(_HAS_NO_ADDRESS)]
        self.directory.run(lambda c: c.modify(group, changes, controls=asserted), retry=False)

    def _replace_address(self, group: str, address: str) -> None:
        changes = {"mail": [(MODIFY_REPLACE, [address])]}
        self.directory.run(lambda c: c.modify(group, changes), retry=False)

    def _next(self, base: str, n: int) -> int:
        """Return the suffix to try after n was taken: past the highest in use, then one by one.

        The search only saves adds that would fail; the overlay still decides.
        """
        return max(n + 1, self._highest(base) + 1) if n == 1 else n + 1

    def _highest(self, base: str) -> int:
        """Return the highest suffix of ``base`` in use anywhere in the tree (1: the bare one)."""
        # The head of the longest suffix is a prefix of every shorter suffix's head.
        stem = group_address.with_suffix(base, 10**6, self.rules).rsplit("-", 1)[0]

        def read(connection: Connection) -> list[str]:
            connection.search(
                self.suffix,
                dn.starts_and_ends_with("mail", f"{stem}-", f"@{self.rules.domain}"),
                SUBTREE,
                attributes=["mail"],
            )
            return [v.decode() for e in connection.response for v in e["raw_attributes"]["mail"]]

        found = self.directory.run(read)
        numbers = [group_address.suffix_number(address, base, self.rules) for address in found]
        return max((n for n in numbers if n is not None), default=1)

    def _taken(self, address: str) -> bool:
        return self._holders(address) > 0

    def _holders(self, address: str) -> int:
        """Return how many entries in the whole tree hold this address."""

        def read(connection: Connection) -> int:
            connection.search(self.suffix, dn.equals("mail", address), SUBTREE, attributes=["1.1"])
            return len(connection.response)

        return self.directory.run(read)

    def _exists(self, group: str) -> bool:
        def read(connection: Connection) -> bool:
            connection.search(group, "(objectClass=*)", BASE, attributes=["1.1"])
            return bool(connection.response)

        try:
            return self.directory.run(read)
        except NotFound:
            return False
