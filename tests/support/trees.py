"""Two providers' trees compared entry by entry, for the replication tests (issue 21).

Every entry under the suffix is read as rootDN over each folder's ldapi socket (so nothing is
hidden by ACLs: passwords, lockout state and service accounts included), with every user
attribute and every operational one. Replication must make them equal, so all of them are
compared, among them entryUUID, entryCSN, createTimestamp, modifyTimestamp, creatorsName,
modifiersName, memberOf, pwdFailureTime, pwdAccountLockedTime, pwdChangedTime.

Left out, on purpose:
- ``contextCSN`` (on the suffix entry): the state of replication itself, not data; two
  providers that hold the same entries can differ there for a moment (a change that was
  sent and applied but whose CSN the other has not recorded yet), and ``wait_in_step``
  (tests/support/replicas.py) compares it on its own.
- the suffix entry's ``entryCSN``, ``modifyTimestamp`` and ``modifiersName``: slapd's own
  bookkeeping of contextCSN writes there. Each provider's syncrepl records the cookie it
  reached as a modify of the suffix's contextCSN, which its accesslog logs; a provider killed
  with -9 restarts with a stale contextCSN of its own and replays such a logged modify from
  its peer as a plain one, which stamps its suffix entry with a CSN the peer never sees
  (seen in tests/ha/test_import_kill.py). The suffix's data (its classes, names,
  ``mimsSchemaVersion``) and entryUUID are compared.
- nothing else: an attribute that legitimately differs between providers (slapd's lastbind
  ``pwdLastSuccess``, not replicated by design) is not configured on the managed slapd; if
  one ever is, it goes in ``PER_SERVER`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import ldap3

from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection

PER_SERVER = frozenset({"contextcsn"})  # attribute names, lower case
BOOKKEEPING = frozenset({"entrycsn", "modifytimestamp", "modifiersname"})  # of the suffix entry
SHOWN = 20  # differences listed in full; the rest are counted

Tree = dict[str, dict[str, frozenset[bytes]]]


def read_tree(slapd: ManagedSlapd, base: str = SUFFIX) -> Tree:
    """Return every entry under ``base``: normalised DN -> attribute (lower case) -> values."""
    tree: Tree = {}
    with admin_connection(slapd) as connection:
        entries = connection.extend.standard.paged_search(
            base,
            "(objectClass=*)",
            ldap3.SUBTREE,
            attributes=[ldap3.ALL_ATTRIBUTES, ldap3.ALL_OPERATIONAL_ATTRIBUTES],
            paged_size=1000,
            generator=True,
        )
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            name = _normal(entry["dn"])
            left_out = PER_SERVER | (BOOKKEEPING if name == _normal(SUFFIX) else frozenset())
            tree[name] = {
                attribute.lower(): frozenset(values)
                for attribute, values in entry["raw_attributes"].items()
                if attribute.lower() not in left_out
            }
    return tree


# What slapd makes itself when it writes an entry (slapadd's values are not the overlays').
SERVER_MADE = frozenset(
    {"entryuuid", "entrycsn", "createtimestamp", "modifytimestamp", "creatorsname", "modifiersname"}
)


def data_only(tree: Tree) -> Tree:
    """Return a tree without the server-made attributes: what two ways of writing must agree on."""
    return {
        name: {key: values for key, values in attributes.items() if key not in SERVER_MADE}
        for name, attributes in tree.items()
    }


def differences(first: ManagedSlapd, second: ManagedSlapd, base: str = SUFFIX) -> list[str]:
    """Return one line per difference between the two servers' trees; empty when equal."""
    return compare(read_tree(first, base), read_tree(second, base))


def compare(first: Tree, second: Tree) -> list[str]:
    """Return one line per entry only on one side and per attribute whose values differ."""
    lines = [f"only on the first: {dn}" for dn in sorted(first.keys() - second.keys())]
    lines += [f"only on the second: {dn}" for dn in sorted(second.keys() - first.keys())]
    for dn in sorted(first.keys() & second.keys()):
        ours, theirs = first[dn], second[dn]
        for name in sorted(ours.keys() | theirs.keys()):
            mine, other = ours.get(name, frozenset()), theirs.get(name, frozenset())
            if mine != other:
                lines.append(
                    f"{dn}: {name}: first has {_show(mine - other)}, second has "
                    f"{_show(other - mine)}"
                )
    return lines


def report(lines: list[str]) -> str:
    """Return the differences as a readable message for an assertion."""
    if not lines:
        return "the trees are equal"
    shown = "\n  ".join(lines[:SHOWN])
    more = f"\n  ... and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    return f"{len(lines)} differences:\n  {shown}{more}"


def _normal(dn: str) -> str:
    """Return a DN in one spelling: ldap3's normal form, lower case."""
    return str(ldap3.utils.dn.safe_dn(dn)).lower()


def _show(values: Iterable[bytes]) -> str:
    shown = sorted(v.decode("utf-8", "replace")[:60] for v in values)
    return "[" + ", ".join(shown) + "]" if shown else "nothing more"
