"""Groups' unique names in the directory: the e-mail address and the NSS name.

Both are made from the group's name when it is added, in the same add: ``mail`` (see
core/group_address.py) and ``mimsPosixName`` (core/posix_group_name.py), with the same suffix
``-N``, so a group's NSS name is its address's local part whenever both are free. A backfill
gives an address to a group made before addresses existed. The unique overlay refuses a ``mail``
that any other entry in the tree holds, and a ``mimsPosixName`` another group holds
(constraintViolation "non-unique", which ``errors.translated`` turns into AlreadyExists); under
``ou=groups`` these are the only unique attributes but ``gidNumber``, which is allocated and so
never clashes: that refusal means "this name is taken: try the next".

The overlay is not atomic, though: it searches before the write and outside the backend's
transaction, so two adds at the same moment can both pass it (eight threads making namesake
groups did, here). So after each write the address is looked up again, and while another entry
shares it the group moves on to a later number. Of two racing writes, the one that lands second
always sees the first when it looks, so at least one moves; both may, which only skips numbers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_REPLACE, SUBTREE, Connection

from bridge.core import group_address, posix_group_name
from bridge.core.group_address import AddressRules
from bridge.directory import controls, dn, mapping
from bridge.directory.client import LdapClient
from bridge.errors import AlreadyExists, InvalidValue, NameTaken, NotFound, PreconditionFailed

# Past this many taken names something is wrong (a loop, not a popular name).
MAX_ATTEMPTS = 10_000
# The backfill writes only to a group that still has no address (RFC 4528).
_HAS_NO_ADDRESS = "(!(mail=*))"
_PAGE = 500
NAMES_AT_ONCE = 100  # values in one search's filter


@dataclass(frozen=True)
class _Bases:
    """The unsuffixed names a group's name gives: its address's local part, its NSS name."""

    address: str
    posix: str | None  # None: the address alone is wanted (the backfill)


class GroupAddresses:
    """Give groups their unique names: in the add that makes the group, or afterwards."""

    def __init__(self, directory: LdapClient, suffix: str, rules: AddressRules) -> None:
        self.directory = directory
        self.suffix = suffix
        self.rules = rules

    def add_group(self, group: str, attributes: dict[str, list[str]], name: str) -> str:
        """Add a group entry with the first free address and NSS name; return the address.

        NameTaken when an entry with that DN exists already: nothing is written then.
        """
        bases = self._bases(name)
        return self._settle(group, bases, self._place(group, attributes, bases))

    def add_groups(self, groups: Sequence[tuple[str, dict[str, list[str]], str]]) -> None:
        """Add many groups (DN, attributes, name) as ``add_group`` does; skip those that exist.

        Each add is checked as ``add_group`` checks it, but one search checks them all
        (``_crowded``): only a group whose names another entry shares settles on its own.
        """
        placed = []
        for group, attributes, name in groups:
            bases = self._bases(name)
            try:
                placed.append((group, bases, self._place(group, attributes, bases)))
            except NameTaken:
                continue  # made meanwhile, by another process
        crowded = self._crowded([self._names(bases, n) for _, bases, n in placed])
        for group, bases, n in placed:
            if not crowded.isdisjoint(_values(self._names(bases, n))):
                self._settle(group, bases, n)

    def _bases(self, name: str) -> _Bases:
        return _Bases(
            group_address.base_local_part(name, self.rules), posix_group_name.base_name(name)
        )

    def _place(self, group: str, attributes: dict[str, list[str]], bases: _Bases) -> int:
        """Add the group under the first names the unique overlay lets by; return their suffix."""
        n = 1
        for _ in range(MAX_ATTEMPTS):
            try:
                self._add(group, attributes | self._names(bases, n))
            except NameTaken:
                raise
            except AlreadyExists:
                if self._exists(group):  # the names may be this group's, made meanwhile
                    raise NameTaken("a group with that name already exists") from None
                n = self._next(bases, n)
                continue
            return n
        raise InvalidValue(f"could not find a free address for the group {attributes['cn'][0]!r}")

    def give(self, group: str, name: str) -> str | None:
        """Give a group without an address the first free one; None if it has one by now.

        None too when the group is gone (deleted since it was listed): nothing to give.
        """
        bases = _Bases(group_address.base_local_part(name, self.rules), None)
        n = 1
        for _ in range(MAX_ATTEMPTS):
            try:
                self._add_address(group, self._address(bases, n))
            except (PreconditionFailed, NotFound):
                return None  # another run gave it one (keep that), or it was deleted
            except AlreadyExists:
                n = self._next(bases, n)
                continue
            return self._settle(group, bases, n)
        raise InvalidValue(f"could not find a free address for the group {name!r}")

    def plan(self, name: str, planned: set[str]) -> str:
        """Return the address ``give`` would choose now, besides those already ``planned``."""
        bases = _Bases(group_address.base_local_part(name, self.rules), None)
        n = 1
        for _ in range(MAX_ATTEMPTS):
            address = self._address(bases, n)
            if address not in planned and not self._taken(address):
                planned.add(address)
                return address
            n = self._next(bases, n)
        raise InvalidValue(f"could not find a free address for the group {name!r}")

    def missing(self) -> list[tuple[str, str]]:
        """Return (DN, name) of every group under ou=groups that has no address, by pages."""

        def read(connection: Connection) -> list[tuple[str, str]]:
            results = connection.extend.standard.paged_search(
                dn.groups_base(self.suffix),
                f"(&{mapping.IS_GROUP}{_HAS_NO_ADDRESS})",
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

    def _address(self, bases: _Bases, n: int) -> str:
        return self.rules.address(group_address.with_suffix(bases.address, n, self.rules))

    def _names(self, bases: _Bases, n: int) -> dict[str, list[str]]:
        """Return the attributes that carry the names with suffix n."""
        names = {"mail": [self._address(bases, n)]}
        if bases.posix is not None:
            names[mapping.POSIX_NAME] = [posix_group_name.with_suffix(bases.posix, n)]
        return names

    def _settle(self, group: str, bases: _Bases, n: int) -> str:
        """Return the group's address (suffix n) once no other entry shares its names.

        While one does, both names move on to a later suffix; a random extra step keeps two
        racing groups from moving in lockstep to the same number.
        """
        current = self._names(bases, n)
        for _ in range(MAX_ATTEMPTS):
            if self._holders(current) <= 1:
                return current["mail"][0]
            n = self._next(bases, n) + random.randrange(3)
            wanted = self._names(bases, n)
            try:
                self._replace(group, wanted)
            except AlreadyExists:
                continue  # taken too: the next round goes past it
            current = wanted
        raise InvalidValue(f"could not find a free address for {group!r}")

    def _add(self, group: str, attributes: dict[str, list[str]]) -> None:
        self.directory.add(group, attributes)

    def _add_address(self, group: str, address: str) -> None:
        changes = {"mail": [(MODIFY_ADD, [address])]}
        asserted = [controls.assertion(_HAS_NO_ADDRESS)]
        self.directory.run(lambda c: c.modify(group, changes, controls=asserted), retry=False)

    def _replace(self, group: str, names: dict[str, list[str]]) -> None:
        changes = {name: [(MODIFY_REPLACE, values)] for name, values in names.items()}
        self.directory.run(lambda c: c.modify(group, changes), retry=False)

    def _next(self, bases: _Bases, n: int) -> int:
        """Return the suffix to try after n was taken: past the highest in use, then one by one.

        The search only saves adds that would fail; the overlay still decides.
        """
        return max(n + 1, self._highest(bases) + 1) if n == 1 else n + 1

    def _highest(self, bases: _Bases) -> int:
        """Return the highest suffix of either base in use (1: the bare one)."""
        # The head of the longest suffix is a prefix of every shorter suffix's head.
        stem = group_address.with_suffix(bases.address, 10**6, self.rules).rsplit("-", 1)[0]
        searches = [
            (
                self.suffix,
                dn.starts_and_ends_with("mail", f"{stem}-", f"@{self.rules.domain}"),
                "mail",
            )
        ]
        if bases.posix is not None:
            head = posix_group_name.with_suffix(bases.posix, 10**6).rsplit("-", 1)[0]
            searches.append(
                (
                    dn.groups_base(self.suffix),
                    dn.starts_with(mapping.POSIX_NAME, f"{head}-"),
                    mapping.POSIX_NAME,
                )
            )

        def read(connection: Connection) -> list[tuple[str, str]]:
            found = []
            for base, ldap_filter, attribute in searches:
                connection.search(base, ldap_filter, SUBTREE, attributes=[attribute])
                found += [
                    (attribute, value.decode())
                    for entry in connection.response
                    for value in entry["raw_attributes"][attribute]
                ]
            return found

        numbers = [
            group_address.suffix_number(value, bases.address, self.rules)
            if attribute == "mail"
            else posix_group_name.suffix_number(value, bases.posix or "")
            for attribute, value in self.directory.run(read)
        ]
        return max((n for n in numbers if n is not None), default=1)

    def _taken(self, address: str) -> bool:
        return self._holders({"mail": [address]}) > 0

    def _holders(self, names: dict[str, list[str]]) -> int:
        """Return how many entries hold any one of these names (the most for any)."""

        def read(connection: Connection) -> int:
            most = 0
            for attribute, values in names.items():
                base = self._scope(attribute)
                connection.search(
                    base, dn.equals(attribute, values[0]), SUBTREE, attributes=["1.1"]
                )
                most = max(most, len(connection.response))
            return most

        return self.directory.run(read)

    def _crowded(self, names: Sequence[dict[str, list[str]]]) -> set[tuple[str, str]]:
        """Return the (attribute, value) of these names that more than one entry holds."""
        wanted = [(attribute, value) for each in names for attribute, value in _values(each)]

        def read(connection: Connection) -> set[tuple[str, str]]:
            held: dict[tuple[str, str], int] = {}
            for attribute in sorted({attribute for attribute, _ in wanted}):
                values = [value for a, value in wanted if a == attribute]
                base = self._scope(attribute)
                for start in range(0, len(values), NAMES_AT_ONCE):
                    chunk = values[start : start + NAMES_AT_ONCE]
                    connection.search(
                        base, dn.any_of(attribute, chunk), SUBTREE, attributes=[attribute]
                    )
                    asked = {value.lower() for value in chunk}
                    for entry in connection.response:
                        for value in entry["raw_attributes"][attribute]:
                            key = (attribute, value.decode().lower())
                            if key[1] in asked:
                                held[key] = held.get(key, 0) + 1
            return {key for key, count in held.items() if count > 1}

        return self.directory.run(read)

    def _scope(self, attribute: str) -> str:
        """Return where a name must be unique (``slapd_config.unique_uris``).

        An address in the whole tree; an NSS name under ou=groups.
        """
        return self.suffix if attribute == "mail" else dn.groups_base(self.suffix)

    def _exists(self, group: str) -> bool:
        def read(connection: Connection) -> bool:
            connection.search(group, "(objectClass=*)", BASE, attributes=["1.1"])
            return bool(connection.response)

        try:
            return self.directory.run(read)
        except NotFound:
            return False


def _values(names: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Return the names as (attribute, value) pairs, values lowercased (both match so)."""
    return {(attribute, value.lower()) for attribute, values in names.items() for value in values}
