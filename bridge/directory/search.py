"""Sorted pages of entries, sorted and cut by slapd itself (sssvlv: RFC 2891 sort + VLV).

The bridge never sorts or counts a result set in Python: it asks slapd for the ``count``
entries from position ``start`` of the sorted result and for the result's size, so memory
does not grow with the directory.

Sort contexts. slapd keeps a VLV sort on the connection that asked for it and returns a
``contextID``; a later request that sends that ID back is served from the kept sort (a few ms)
instead of searching and sorting again (~180 ms at 100,000 people). sssvlv continues a context
whatever filter the new request carries, so the bridge only reuses one for the same base,
filter and sort keys. A context is a snapshot: entries added after it was made are missing
from it, and ``totalResults`` counts the snapshot. So a context is reused only for later pages
(``startIndex`` > 1) and for at most ``CONTEXT_SECONDS``; a walk that starts again at 1 gets a
fresh sort. slapd frees contexts only when their connection closes (sssvlv has no other way),
and refuses more than ``olcSssVlvMaxPerConn`` per connection, so each thread sorts on its own
connection and closes it after ``CONTEXTS_PER_CONNECTION`` sorts.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ldap3 import SUBTREE, Connection

from bridge.directory import controls
from bridge.directory.client import LdapClient, forget_response
from bridge.directory.controls import SortKey
from bridge.directory.errors import error_for_code

CONTEXTS_PER_CONNECTION = 4  # below slapd_config's olcSssVlvMaxPerConn (16)
CONTEXT_SECONDS = 60.0
VLV_ERROR = 76  # virtualListViewError: ldap3 2.9.1 has no name for it and raises KeyError

_Key = tuple[str, str, tuple[SortKey, ...]]


@dataclass
class Page:
    """One page of a sorted result and the size of the whole result."""

    total: int
    entries: list[dict[str, Any]]


@dataclass
class _Sorting:
    """One thread's sorting connection and the contexts slapd keeps on it."""

    connection: Connection
    contexts: OrderedDict[_Key, tuple[bytes, float]] = field(default_factory=OrderedDict)
    made: int = 0


class SortedPager:
    """Serve pages of sorted results from slapd, reusing sort contexts for later pages."""

    def __init__(self, directory: LdapClient, context_seconds: float = CONTEXT_SECONDS) -> None:
        self.directory = directory
        self.context_seconds = context_seconds
        self.connections = directory.pool()  # sorting connections, apart from the thread's own
        self._local = threading.local()
        directory.on_close(self.close)

    def page(
        self,
        base: str,
        ldap_filter: str,
        attributes: list[str],
        sort: list[SortKey],
        start: int,
        count: int,
        extra: list[controls.Control] | None = None,
    ) -> Page:
        """Return ``count`` entries from 1-based ``start`` of the sorted result, and its size.

        ``extra`` controls go with every request (the deref control of people reads).
        """
        key: _Key = (base, ldap_filter, tuple(sort))
        start = max(start, 1)

        def read(connection: Connection) -> Page:
            sorting = self._sorting(connection)
            return self._page(
                sorting, key, attributes, start, max(count, 0), start > 1, extra or []
            )

        page = self.connections.run(read)
        sorting: _Sorting | None = getattr(self._local, "sorting", None)
        if sorting is not None and sorting.made >= CONTEXTS_PER_CONNECTION:
            self.close()
        return page

    def close(self) -> None:
        """Close this thread's sorting connection, which frees its sort contexts in slapd."""
        self._local.sorting = None
        self.connections.discard()

    def _sorting(self, connection: Connection) -> _Sorting:
        """Return the sort contexts kept on ``connection`` (none on a new one)."""
        sorting: _Sorting | None = getattr(self._local, "sorting", None)
        if sorting is None or sorting.connection is not connection:
            sorting = _Sorting(connection)
            self._local.sorting = sorting
        return sorting

    def _page(
        self,
        sorting: _Sorting,
        key: _Key,
        attributes: list[str],
        start: int,
        count: int,
        reuse: bool,
        extra: list[controls.Control],
    ) -> Page:
        context = self._reusable(sorting, key) if reuse else None
        base, ldap_filter, sort = key
        after = max(count, 1) - 1
        request = [
            controls.sort_request(list(sort)),
            controls.vlv_request(start, after, context),
            *extra,
        ]
        connection = sorting.connection
        try:
            connection.search(base, ldap_filter, SUBTREE, attributes=attributes, controls=request)
        except KeyError as error:
            if error.args != (VLV_ERROR,):
                raise
            # ``start`` lies past the end, and ldap3 lost the response with its controls: ask
            # for no entries from the start, on the sort just made, to learn the size.
            sorting.made += 1  # the failed request left a sort context on the connection
            return Page(total=self._page(sorting, key, ["1.1"], 1, 0, True, []).total, entries=[])
        result = self._remember(sorting, key, context)
        if result is not None and result.result != 0:
            raise error_for_code(result.result)
        entries = [entry for entry in connection.response if entry.get("type") == "searchResEntry"]
        forget_response(connection)
        total = result.count if result is not None else len(entries)
        return Page(total=total, entries=entries[:count])

    def _reusable(self, sorting: _Sorting, key: _Key) -> bytes | None:
        found = sorting.contexts.get(key)
        if found is None or time.monotonic() - found[1] > self.context_seconds:
            return None
        return found[0]

    def _remember(
        self, sorting: _Sorting, key: _Key, sent: bytes | None
    ) -> controls.VlvResult | None:
        """Read the VLV response control and keep its context for the next page."""
        raw = (sorting.connection.result or {}).get("controls", {}).get(controls.VLV_RESPONSE)
        if raw is None:
            return None
        result = controls.vlv_response(raw["value"])
        if result.context and result.context != sent:
            sorting.made += 1
            sorting.contexts[key] = (result.context, time.monotonic())
        return result
