"""Sorted pages of entries, sorted and cut by slapd itself (sssvlv: RFC 2891 sort + VLV).

The bridge never sorts or counts a result set in Python: it asks slapd for the ``count``
entries from position ``start`` of the sorted result and for the result's size, so its memory
does not grow with the directory.

Kept sorts. A sort costs slapd a read of every entry that matches (~300 ms for 100,000
people); a page from a sort slapd already holds costs only the page. slapd keeps a VLV sort on
the connection that asked for it and names it by a ``contextID``; a request that sends the ID
back is served from it, whatever filter it carries. So each process keeps one sort per (base,
filter, sort keys) (``_Kept``), on a python-ldap connection that only it uses, shared by the
process's threads one request at a time (slapd answers "busy" to a second request on a sort
at work). A kept sort is a snapshot, and serves:

- a page from ``start`` 1 only while it is provably current: the suffix's contextCSN (which
  syncprov moves on every write) is the one read on its connection just before the sort was
  made (one base read). A walk never misses on its first page someone added before it began;
- a later page also after the directory changed, for ``FRESH_SECONDS`` after it was made
  (RFC 7644 section 3.4.2.4 lets the result set change between pages).

Otherwise the sort is made again. slapd frees sorts only with their connection, so a
connection (``_Line``) takes ``SORTS_PER_LINE`` sorts and is then closed; a process keeps at
most ``KEPT`` sorts, lets go of those unused for ``IDLE_SECONDS``, and hands the connection of
a sort it lets go to the next new one (``SPARES``): a console's searches, each with its own
filter, do not open a connection (TLS, a bind) each. At most (``KEPT`` + ``SPARES``) x
``SORTS_PER_LINE`` sorts per process stay in slapd, whose ``olcSssVlvMax`` (64) counts them
over every connection.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import ldap
from ldap.controls import RequestControl, ResponseControl
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory import controls, observation
from bridge.directory.client import LdapClient, Pool
from bridge.directory.controls import SortKey
from bridge.directory.errors import error_for_code
from bridge.directory.libldap_connections import GONE, translated

KEPT = 4  # sorts a process keeps for reuse
SPARES = 1  # connections of let-go sorts kept for the next new sort
SORTS_PER_LINE = 3  # sorts made on one connection before it is closed (olcSssVlvMaxPerConn: 16)
FRESH_SECONDS = 60.0
IDLE_SECONDS = 300.0
BUSY = 51  # RFC 4511: sssvlv's answer when it holds olcSssVlvMax sorts, or see _serve

T = TypeVar("T")
_Key = tuple[str, str, tuple[SortKey, ...]]
# The response controls a page may carry, kept undecoded (python-ldap drops unknown ones).
_KEEP = {controls.DEREF: ResponseControl, controls.VLV_RESPONSE: ResponseControl}


@dataclass
class Page(Generic[T]):
    """One page of a sorted result, each entry as ``convert`` made it, and the result's size."""

    total: int
    entries: list[T]


@dataclass
class _Line:
    """A connection that sorts: slapd keeps every sort made on it until it is closed."""

    url: str
    connection: SimpleLDAPObject
    made: int = 0
    spared: float = 0.0  # when it became a spare


@dataclass
class _Kept:
    """One sort slapd keeps for a (base, filter, keys), on a connection it alone uses."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    line: _Line | None = None
    context: bytes | None = None
    csn: frozenset[bytes] = frozenset()  # the suffix's contextCSN before the sort was made
    made: float = 0.0
    used: float = 0.0
    retired: bool = False  # no longer in the pager's table: closed after its current page


class SortedPager:
    """Serve pages of sorted results from slapd, keeping each sort while it is current."""

    def __init__(
        self,
        directory: LdapClient,
        fresh_seconds: float = FRESH_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.directory = directory
        self.fresh_seconds = fresh_seconds
        self.idle_seconds = idle_seconds
        self.pool: Pool[SimpleLDAPObject] = directory.libldap_writes  # sees the latest writes
        self._kept: OrderedDict[_Key, _Kept] = OrderedDict()
        self._spares: list[_Line] = []
        self._lock = threading.Lock()
        directory.on_close(self.close)

    def page(
        self,
        base: str,
        ldap_filter: str,
        attributes: list[str],
        sort: list[SortKey],
        start: int,
        count: int,
        convert: Callable[[dict[str, Any]], T],
        extra: list[controls.Control] | None = None,
    ) -> Page[T]:
        """Return ``count`` entries from 1-based ``start`` of the sorted result, and its size.

        Each entry (``dn``, ``raw_attributes``, ``controls``, as ldap3 shapes them) is handed
        to ``convert`` as it arrives: a page of 1,000 is never held as entries and as what
        they become. ``extra`` controls go with the request (the deref control of people).
        """
        key: _Key = (base, ldap_filter, tuple(sort))
        kept = self._take(key)
        request = _Request(key, attributes, max(start, 1), max(count, 0), extra or [], convert)
        try:
            with kept.lock:
                return self._serve(kept, request)
        finally:
            if kept.retired:  # let go while it served this page: checked after the lock
                self._retire(kept)

    def close(self) -> None:
        """Close every sorting connection, which frees the sorts in slapd."""
        with self._lock:
            kept = list(self._kept.values())
            self._kept.clear()
        for one in kept:
            self._retire(one, spare=False)
        with self._lock:
            spares, self._spares = self._spares, []
        for line in spares:
            self._close(line)

    # -- the table of kept sorts ---------------------------------------------------------------

    def _take(self, key: _Key) -> _Kept:
        """Return the sort kept for ``key`` (a new, empty one if none); retire idle ones."""
        now = time.monotonic()
        with self._lock:
            kept = self._kept.pop(key, None) or _Kept()
            kept.used = now
            self._kept[key] = kept  # the most recently used last
            idle = [k for k, v in self._kept.items() if now - v.used > self.idle_seconds]
            over = list(self._kept)[: max(0, len(self._kept) - KEPT)]
            retired = [self._kept.pop(k) for k in dict.fromkeys(idle + over)]
            stale = [line for line in self._spares if now - line.spared > self.idle_seconds]
            self._spares = [line for line in self._spares if line not in stale]
        for one in retired:
            self._retire(one)
        for line in stale:
            self._close(line)
        return kept

    def _retire(self, kept: _Kept, spare: bool = True) -> None:
        """Let go of a sort no longer in the table; its connection may serve the next one."""
        kept.retired = True
        if kept.lock.acquire(blocking=False):  # else its user does this after its page
            try:
                line, kept.line, kept.context = kept.line, None, None
                if line is not None and spare:
                    self._spare(line)
                elif line is not None:
                    self._close(line)
            finally:
                kept.lock.release()

    def _spare(self, line: _Line) -> None:
        if line.made < SORTS_PER_LINE:
            with self._lock:
                if len(self._spares) < SPARES:
                    line.spared = time.monotonic()
                    self._spares.append(line)
                    return
        self._close(line)

    def _line(self, kept: _Kept) -> _Line:
        """Return a connection with room for a new sort: kept's own, a spare, or a new one."""
        if kept.line is not None and kept.line.made < SORTS_PER_LINE:
            return kept.line
        self._shut(kept)
        with self._lock:
            line = self._spares.pop() if self._spares else None
        if line is not None and line.url != self.pool.servers.preferred():
            self._close(line)
            line = None
        if line is None:
            line = _Line(*self.pool.connect(self.pool.dialer.bind))
            observation.opened(self.pool.dialer)
        kept.line = line
        return line

    def _shut(self, kept: _Kept) -> None:
        """Close a kept sort's connection (its lock held)."""
        line, kept.line, kept.context = kept.line, None, None
        if line is not None:
            self._close(line)

    def _close(self, line: _Line) -> None:
        observation.closed(self.pool.dialer)
        self.pool.dialer.close(line.connection)

    # -- one page ------------------------------------------------------------------------------

    def _serve(self, kept: _Kept, request: _Request[T]) -> Page[T]:
        """Serve a page from the kept sort, or sort again; retry once on another server."""
        for attempt in (1, 2):
            with translated():
                try:
                    return self._page(kept, request)
                except ldap.BUSY:
                    # sssvlv says busy ("Other sort requests already in progress") when it
                    # holds olcSssVlvMax sorts, when this connection holds olcSssVlvMaxPerConn,
                    # or when this connection's sort session is taken by another sort. A new
                    # connection (closing this one frees its sorts) clears the last two; the
                    # first is said as it is: the server is there.
                    self._shut(kept)
                    if attempt == 2:
                        raise error_for_code(BUSY) from None
                except GONE:
                    if kept.line is not None:
                        self.pool.failed(kept.line.url)
                    self._shut(kept)
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _page(self, kept: _Kept, request: _Request[T]) -> Page[T]:
        suffix = self.directory.settings.suffix
        if kept.line is not None and kept.line.url != self.pool.servers.preferred():
            self._shut(kept)  # the write target moved, or a quarantine ended: follow, as pools do
        reuse = kept.context is not None
        if reuse and (request.start == 1 or time.monotonic() - kept.made > self.fresh_seconds):
            csn = _context_csn(kept, suffix)
            reuse = bool(csn) and csn == kept.csn  # no contextCSN (no syncprov): never current
        if not reuse:
            line = self._line(kept)
            kept.context = None
            kept.csn = _context_csn(kept, suffix)  # before the sort: a later write makes it old
            kept.made = time.monotonic()
            line.made += 1
        assert kept.line is not None
        return observation.ran(lambda _: _search(kept, request), kept.line.connection, "search")


@dataclass(frozen=True)
class _Request(Generic[T]):
    key: _Key
    attributes: list[str]
    start: int
    count: int
    extra: list[controls.Control]
    convert: Callable[[dict[str, Any]], T]


def _context_csn(kept: _Kept, suffix: str) -> frozenset[bytes]:
    """Return the suffix's contextCSN (syncprov's, current to the last write) on kept's server."""
    assert kept.line is not None
    connection = kept.line.connection
    found = connection.search_ext_s(suffix, ldap.SCOPE_BASE, "(objectClass=*)", ["contextCSN"])
    return frozenset(value for _, values in found for value in values.get("contextCSN", []))


def _search(kept: _Kept, request: _Request[T]) -> Page[T]:
    """Ask for the page on the kept sort (a new sort when it has none); keep its context."""
    assert kept.line is not None
    connection = kept.line.connection
    base, ldap_filter, sort = request.key
    sent = [
        controls.sort_request(list(sort)),
        controls.vlv_request(request.start, max(request.count, 1) - 1, kept.context),
        *request.extra,
    ]
    message = connection.search_ext(
        base,
        ldap.SCOPE_SUBTREE,
        ldap_filter,
        request.attributes,
        serverctrls=[RequestControl(oid, critical, value) for oid, critical, value in sent],
    )
    entries: list[T] = []
    while True:  # one message at a time: each entry is converted and let go as it comes
        try:
            kind, found, _, returned, _, _ = connection.result4(
                message, all=0, add_ctrls=1, resp_ctrl_classes=_KEEP
            )
        except ldap.VLV_ERROR as error:  # ``start`` lies past the end: no entries, and the size
            details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
            ctrls = details.get("ctrls", [])
            raw = {oid: value for oid, _, value in ctrls}.get(controls.VLV_RESPONSE)
            if raw is None:
                raise
            return Page(total=_remember(kept, raw).count, entries=[])
        if kind == ldap.RES_SEARCH_RESULT:
            break
        for entry_dn, values, entry_controls in found:
            if entry_dn is None or len(entries) >= request.count:
                continue  # a search reference; or the one entry VLV sends for a count of 0
            entry = {
                "type": "searchResEntry",
                "dn": entry_dn,
                "raw_attributes": values,
                "controls": {
                    c.controlType: {"value": c.encodedControlValue} for c in entry_controls
                },
            }
            entries.append(request.convert(entry))
    vlv = next((c for c in returned if c.controlType == controls.VLV_RESPONSE), None)
    if vlv is None:
        return Page(total=len(entries), entries=entries)
    result = _remember(kept, vlv.encodedControlValue)
    if result.result != 0:
        raise error_for_code(result.result)
    return Page(total=result.count, entries=entries)


def _remember(kept: _Kept, raw: bytes) -> controls.VlvResult:
    """Decode the VLV response and keep its context for the next page."""
    result = controls.vlv_response(raw)
    if result.context:
        kept.context = result.context
    return result
