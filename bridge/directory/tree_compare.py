"""`mims failover compare`: two providers' trees, entry by entry.

A kill -9 can leave an add on the killed provider that its peer never receives, while both
show the same contextCSN (docs/high-availability.md), so `mims failover status` says "in
step". Only reading both trees finds it. Every entry under the suffix is read from each
provider, as the bridge, with every attribute the bridge may read, user and operational:
that leaves out ``userPassword`` and ``pwdHistory``, which no account reads (slapd checks
them itself).

Memory: the first provider's entries are kept as their DN and an 8-byte digest of their
values; the second's are checked against them as they arrive, a page at a time (520,653
entries: 108 s, a peak of 253 MB). The entries that differ are then read again from both, one by
one, up to ``REREADS`` times a second apart: one that agrees was being written (or
replicated) while the trees were read, and is counted as settled, not reported.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import ldap
from ldap.controls import SimplePagedResultsControl
from ldap.ldapobject import SimpleLDAPObject

from bridge.core.failover import AttributeDifference, EntryDifference, Progress, TreeComparison
from bridge.directory.libldap_connections import LibldapConnections, close, translated
from bridge.directory.mapping import SECRET_ATTRIBUTES
from bridge.directory.servers import ClientSettings, TlsFailure
from bridge.errors import DirectoryUnavailable

PAGE = 1000
EVERY = ["*", "+"]  # every user and operational attribute the bridge may read
# The state of replication itself, not data: two providers holding the same entries may
# differ there for a moment.
PER_SERVER = frozenset({"contextcsn"})
# slapd's bookkeeping of contextCSN writes on the suffix entry: a provider restarted after a
# kill -9 stamps it with a CSN its peer never sees (tests/ha/test_import_kill.py).
SUFFIX_BOOKKEEPING = frozenset({"entrycsn", "modifytimestamp", "modifiersname"})
REREADS = 3
REREAD_PAUSE_S = 1.0
SHOWN_CHARS = 60
REPORT_EVERY = 50_000

Entry = dict[str, frozenset[bytes]]  # attribute name (lower case) -> values


def compare(
    settings: ClientSettings, first: str, second: str, limit: int, progress: Progress
) -> TreeComparison:
    """Compare the trees of the providers at ``first`` and ``second`` (module docstring)."""
    dialer = LibldapConnections(settings)
    suffix = settings.suffix
    with _bound(dialer, first) as one, _bound(dialer, second) as other:
        digests: dict[str, bytes] = {}
        for name, entry in _entries(one, suffix, first, progress):
            digests[name] = _digest(entry)
        first_holds, second_holds = len(digests), 0
        suspects: list[str] = []
        for name, entry in _entries(other, suffix, second, progress):
            second_holds += 1
            if digests.pop(name, None) != _digest(entry):
                suspects.append(name)
        suspects.extend(digests)
        del digests
        if suspects:
            progress(f"entries that differ, read again: {min(len(suspects), limit):,}")
        differences, settled = _recheck(one, other, suffix, suspects[:limit], (first, second))
    unchecked = max(len(suspects) - limit, 0)
    return TreeComparison(
        first=first,
        second=second,
        entries=(first_holds, second_holds),
        differences=tuple(differences),
        different=len(differences) + unchecked,
        settled=settled,
    )


@contextmanager
def _bound(dialer: LibldapConnections, url: str) -> Iterator[SimpleLDAPObject]:
    """Yield a connection bound as the bridge to ``url``, closed on leaving."""
    try:
        with translated():
            connection = dialer.bind(url)
    except DirectoryUnavailable:
        raise DirectoryUnavailable(f"{url} does not answer") from None
    except TlsFailure as failure:  # a certificate not trusted, or StartTLS refused: say so
        raise DirectoryUnavailable(f"{url}: {failure}") from None
    try:
        yield connection
    finally:
        close(connection)


def _entries(
    connection: SimpleLDAPObject, suffix: str, url: str, progress: Progress
) -> Iterator[tuple[str, Entry]]:
    """Yield every entry under ``suffix`` as (DN, attributes), a page at a time."""
    paging = SimplePagedResultsControl(True, size=PAGE, cookie=b"")
    read = 0
    while True:
        with translated():
            message = connection.search_ext(
                suffix, ldap.SCOPE_SUBTREE, "(objectClass=*)", EVERY, serverctrls=[paging]
            )
            _, found, _, returned = connection.result3(message)
        for name, values in found:
            if name is None:  # a search reference
                continue
            read += 1
            if read % REPORT_EVERY == 0:
                progress(f"{url}: read {read:,} entries")
            yield name, _kept(name, values, suffix)
        cookie = next((c.cookie for c in returned if c.controlType == paging.controlType), b"")
        if not cookie:
            progress(f"{url}: {read:,} entries")
            return
        paging.cookie = cookie


def _kept(name: str, values: dict[str, list[bytes]], suffix: str) -> Entry:
    """Return the attributes replication must make equal (``PER_SERVER`` left out)."""
    left_out = PER_SERVER | (SUFFIX_BOOKKEEPING if name.lower() == suffix.lower() else set())
    return {
        attribute.lower(): frozenset(raw)
        for attribute, raw in values.items()
        if attribute.lower() not in left_out
    }


def _digest(entry: Entry) -> bytes:
    """Return 8 bytes that differ, but for a 2^-64 chance, when two entries' values differ."""
    hashed = hashlib.blake2b(digest_size=8)
    for attribute in sorted(entry):
        hashed.update(attribute.encode() + b"\0")
        for value in sorted(entry[attribute]):
            hashed.update(len(value).to_bytes(4, "big") + value)
    return hashed.digest()


def _recheck(
    one: SimpleLDAPObject,
    other: SimpleLDAPObject,
    suffix: str,
    names: list[str],
    urls: tuple[str, str],
) -> tuple[list[EntryDifference], int]:
    """Read each entry again from both sides until it agrees; return those that never did."""
    differing, found = names, []
    for attempt in range(REREADS):
        if attempt:
            time.sleep(REREAD_PAUSE_S)
        found = [(name, _one(one, name, suffix), _one(other, name, suffix)) for name in differing]
        differing = [name for name, mine, theirs in found if mine != theirs]
        if not differing:
            break
    settled = len(names) - len(differing)
    still = set(differing)
    return [_difference(name, a, b, urls) for name, a, b in found if name in still], settled


def _one(connection: SimpleLDAPObject, name: str, suffix: str) -> Entry | None:
    """Return one entry's attributes, or None when this provider does not hold it."""
    with translated():
        try:
            found = connection.search_s(name, ldap.SCOPE_BASE, "(objectClass=*)", EVERY)
        except ldap.NO_SUCH_OBJECT:
            return None
    return _kept(name, found[0][1], suffix) if found else None


def _difference(
    name: str, first: Entry | None, second: Entry | None, urls: tuple[str, str]
) -> EntryDifference:
    if first is None or second is None:
        return EntryDifference(name, only_on=urls[0] if second is None else urls[1])
    attributes = tuple(
        _attribute(attribute, first.get(attribute, frozenset()), second.get(attribute, frozenset()))
        for attribute in sorted(first.keys() | second.keys())
        if first.get(attribute) != second.get(attribute)
    )
    return EntryDifference(name, attributes=attributes)


def _attribute(name: str, first: frozenset[bytes], second: frozenset[bytes]) -> AttributeDifference:
    hidden = name in SECRET_ATTRIBUTES
    return AttributeDifference(
        name,
        () if hidden else _shown(first - second),
        () if hidden else _shown(second - first),
        hidden=hidden,
    )


def _shown(values: frozenset[bytes]) -> tuple[str, ...]:
    return tuple(sorted(value.decode("utf-8", "replace")[:SHOWN_CHARS] for value in values))
