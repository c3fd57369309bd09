"""`mims failover status` and `promote`: the write target, read and moved (issue 21).

Promotion order matters. The new target's uidNumber and gidNumber counters are moved ahead
first (numbers the old target handed out whose increments had not replicated are never
handed out again); then the entry is written on the old target when it answers (its bridges
learn of the move from the server they were using), then on the new one, whose own copy
naming itself is what bridges wait for before they write there (``write_target.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ldap3 import Connection
from ldap3.core import exceptions as ldap

from bridge.core.failover import Progress, Promotion, ServerState, TreeComparison
from bridge.directory import tree_compare, write_target
from bridge.directory.errors import translated
from bridge.directory.ldap3_connections import Ldap3Connections, close
from bridge.directory.servers import ClientSettings
from bridge.directory.write_target import UNREACHABLE, Copy, Seen
from bridge.errors import DirectoryUnavailable, InvalidValue, PreconditionFailed


class Providers:
    """The configured servers of a replicated directory, as the failover commands see them."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._dialer = Ldap3Connections(settings)

    def status(self) -> list[ServerState]:
        """Return every configured server's state, in configured order."""
        with self._connected() as connections:
            seen = self._survey(connections)
        choice = write_target.choose(seen, self.settings.urls)
        now = datetime.now(UTC)
        return [_state(s, choice.url, now) for s in seen]

    def promote(self, url: str, force: bool = False) -> Promotion:
        """Make ``url`` the write target (module docstring); refuse a candidate behind."""
        urls = self.settings.urls
        if len(urls) < 2:
            raise InvalidValue("one directory URL is configured: there is no other to promote")
        if url not in urls:
            raise InvalidValue(f"{url} is not one of [directory] urls: {', '.join(urls)}")
        with self._connected() as connections:
            seen = {s.server: s for s in self._survey(connections)}
            if url not in connections:
                raise DirectoryUnavailable(f"{url} does not answer: it cannot be promoted")
            choice = write_target.choose(list(seen.values()), urls)
            old = choice.named
            if choice.url == url:
                return Promotion(url, choice.epoch, (f"{url} is already the write target",))
            steps: list[str] = []
            if old is not None and old in connections:
                behind = _behind(seen[url].context_csn, seen[old].context_csn)
                if behind and not force:
                    raise PreconditionFailed(
                        f"{url} is behind the write target {old} (its contextCSN {behind}): "
                        "wait until `mims failover status` shows it caught up, or use --force"
                    )
                if behind:
                    steps.append(f"promoting {url} although it is behind {old} (--force)")
            elif old is not None:
                steps.append(f"the write target {old} does not answer: not compared, not told")
            epoch = 1 + max((s.copy.epoch for s in seen.values() if s.copy), default=0)
            copy = Copy(url, epoch, datetime.now(UTC))
            with translated():
                if write_target.move_counters(connections[url], self.settings.suffix):
                    steps.append(
                        f"moved the uidNumber and gidNumber counters on {url} ahead by "
                        f"{write_target.COUNTER_GAP}"
                    )
                if old is not None and old != url and old in connections:
                    write_target.write(connections[old], self.settings.suffix, copy)
                    steps.append(f"wrote the write target {url} (epoch {epoch}) on {old}")
                write_target.write(connections[url], self.settings.suffix, copy)
                steps.append(f"wrote the write target {url} (epoch {epoch}) on {url}")
        return Promotion(url, epoch, tuple(steps))

    def compare(self, first: str, second: str, limit: int, progress: Progress) -> TreeComparison:
        """Compare two of the configured providers' trees (``tree_compare.py``)."""
        for url in (first, second):
            if url not in self.settings.urls:
                raise InvalidValue(
                    f"{url} is not one of [directory] urls: {', '.join(self.settings.urls)}"
                )
        return tree_compare.compare(self.settings, first, second, limit, progress)

    def _survey(self, connections: dict[str, Connection]) -> list[Seen]:
        seen = []
        for url in self.settings.urls:
            connection = connections.get(url)
            try:
                if connection is None:
                    raise ldap.LDAPSocketOpenError("not connected")
                seen.append(write_target.read(connection, self.settings.suffix, url))
            except UNREACHABLE:
                connections.pop(url, None)
                seen.append(Seen(url, False))
        return seen

    @contextmanager
    def _connected(self) -> Iterator[dict[str, Connection]]:
        """Yield a bound connection to each server that answers, by URL; close them after."""
        connections: dict[str, Connection] = {}
        for url in self.settings.urls:
            try:
                connections[url] = self._dialer.bind(url)
            except UNREACHABLE:
                continue
        try:
            yield connections
        finally:
            for connection in connections.values():
                close(connection)


def _state(seen: Seen, target: str | None, now: datetime) -> ServerState:
    copy = seen.copy
    beat = copy.heartbeat if copy is not None else None
    return ServerState(
        url=seen.server,
        reachable=seen.reachable,
        epoch=copy.epoch if copy is not None else None,
        target=copy.url if copy is not None else None,
        context_csn=seen.context_csn,
        heartbeat_age=(now - beat).total_seconds() if beat is not None else None,
        is_target=seen.server == target,
    )


def _behind(candidate: tuple[str, ...], target: tuple[str, ...]) -> str | None:
    """Return a contextCSN value of the target's that the candidate has not reached, if any.

    One value per serverID (``time#count#sid#mod``); within one serverID they order as text.
    """
    mine = {_sid(csn): csn for csn in candidate}
    for csn in target:
        if mine.get(_sid(csn), "") < csn:
            return mine.get(_sid(csn), "none")
    return None


def _sid(csn: str) -> str:
    parts = csn.split("#")
    return parts[2] if len(parts) > 2 else ""
