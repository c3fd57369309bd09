"""The change feed: OpenLDAP's own replication protocol (syncrepl, RFC 4533) as domain changes.

A refreshAndPersist search against the ``syncprov`` overlay first sends what changed since the
given cookie (everything, without one), then every change as it happens. No polling, and no
change log of ours: the cookie is the whole position, and the caller stores it only once the
target confirmed the changes before it. python-ldap is used here because ldap3 has no
syncrepl consumer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import ldap
from ldap.ldapobject import SimpleLDAPObject
from ldap.syncrepl import SyncreplConsumer

from bridge.core.sync import Change, FeedHandler, Kind
from bridge.directory import dn, mapping
from bridge.directory.client import LdapClient
from bridge.directory.dn import is_grant_group
from bridge.directory.libldap_connections import GONE
from bridge.errors import DirectoryUnavailable, NotFound

log = logging.getLogger(__name__)


def feed_filter(suffix: str) -> str:
    """Return what the feed follows: people under ou=people, groups under ou=groups.

    Not the service accounts' role groups under ou=services: they are the directory's own.
    """
    people = f"(&(objectClass=inetOrgPerson){dn.within(dn.people_base(suffix))})"
    groups = f"(&{mapping.IS_GROUP}{dn.within(dn.groups_base(suffix))})"
    return f"(|{people}{groups})"


# Always read: what says what an entry is, its members and memberships, and being disabled.
BASE_ATTRIBUTES = ("objectClass", "entryUUID", "member", "memberOf", "mimsDisabled", "mail", "cn")
POLL_SECONDS = 0.5


class _Consumer(SimpleLDAPObject, SyncreplConsumer):  # type: ignore[misc]
    """python-ldap's consumer, turning its callbacks into ``Change`` events."""

    def __init__(self, uri: str, handler: FeedHandler, feed: Feed) -> None:
        super().__init__(uri)
        self.handler = handler
        self.feed = feed
        self.kinds: dict[str, Kind] = {}
        self.present: set[str] = set()
        self.present_phase = False
        self.refresh_done = False
        self.start_cookie: str | None = None

    def syncrepl_get_cookie(self) -> str | None:
        return self.start_cookie

    def syncrepl_set_cookie(self, cookie: str) -> None:
        self.handler.cookie(cookie)

    def syncrepl_entry(self, dn: str, attrs: dict[str, list[bytes]], uuid: str) -> None:
        self.feed.remember(dn, uuid)
        change = to_change(dn, attrs, uuid, self.feed.resolve)
        self.kinds[uuid] = change.kind
        self.handler.change(change)

    def syncrepl_delete(self, uuids: Iterable[str]) -> None:
        for uuid in uuids:
            kind = self.kinds.pop(uuid, "unknown")
            self.handler.change(Change(uuid=uuid, kind=kind, deleted=True))

    def syncrepl_present(self, uuids: Iterable[str] | None, refreshDeletes: bool = False) -> None:  # noqa: N803
        if uuids is not None:
            self.present.update(uuids)
            return
        if not refreshDeletes:  # a present phase: what was not named is gone
            self.present_phase = True

    def syncrepl_refreshdone(self) -> None:
        self.refresh_done = True
        # Without a cookie slapd sends every entry and calls it done (refreshDeletes TRUE):
        # right for an empty consumer, but a target may hold people deleted meanwhile.
        complete = self.present_phase or self.start_cookie is None
        self.handler.refreshed(self.present if complete else None)
        self.present = set()
        self.present_phase = False


def to_change(
    dn: str, attrs: dict[str, list[bytes]], uuid: str, resolve: Callable[[str], str | None]
) -> Change:
    """Turn one syncrepl entry into a Change; member DNs become entryUUIDs."""
    values = {
        name.lower(): tuple(v.decode("utf-8", "replace") for v in raw)
        for name, raw in attrs.items()
        if name.lower() not in mapping.SECRET_ATTRIBUTES
    }
    classes = {value.lower() for value in values.get("objectclass", ())}
    kind: Kind = "group" if mapping.GROUP_CLASS.lower() in classes else "person"
    values["dn"] = (dn,)
    if kind == "group":
        members = tuple(u for u in (resolve(m) for m in values.get("member", ())) if u)
        name = next(iter(values.get("cn", ())), None)
        return Change(uuid=uuid, kind=kind, attributes=values, members=members, name=name)
    # An administrator's grant (ou=admins) is no group a downstream target knows.
    memberships = (g for g in values.get("memberof", ()) if not is_grant_group(g))
    groups = tuple(u for u in (resolve(g) for g in memberships) if u)
    disabled = next(iter(values.get("mimsdisabled", ())), "FALSE").upper() == "TRUE"
    return Change(uuid=uuid, kind=kind, attributes=values, groups=groups, active=not disabled)


class Feed:
    """Follow the directory from a cookie, calling a Handler for each change."""

    def __init__(
        self, client: LdapClient, attributes: Iterable[str], stop: threading.Event
    ) -> None:
        self.client = client
        self.suffix = client.settings.suffix
        wanted = {
            a for a in (*BASE_ATTRIBUTES, *attributes) if a.lower() not in mapping.SECRET_ATTRIBUTES
        }
        self.attributes = sorted(wanted, key=str.lower)
        self.stop = stop
        self._uuids: dict[str, str] = {}

    def run(self, cookie: str | None, handler: FeedHandler, persist: bool = True) -> None:
        """Refresh from ``cookie``, then (``persist``) follow changes until ``stop`` is set.

        Return when the refresh ends (``persist`` False) or when stopped; raise
        DirectoryUnavailable when the connection to the directory breaks.
        """
        server, consumer = self.client.open_libldap(lambda url: _Consumer(url, handler, self))
        try:
            consumer.start_cookie = cookie
            mode = "refreshAndPersist" if persist else "refreshOnly"
            msgid = consumer.syncrepl_search(
                self.suffix,
                ldap.SCOPE_SUBTREE,
                mode=mode,
                filterstr=feed_filter(self.suffix),
                attrlist=self.attributes,
            )
            while not self.stop.is_set():
                try:
                    if not consumer.syncrepl_poll(msgid=msgid, timeout=POLL_SECONDS, all=0):
                        if not consumer.refresh_done:  # refreshOnly ends without the message
                            consumer.syncrepl_refreshdone()
                        return
                except ldap.TIMEOUT:
                    continue
        except GONE as exc:
            self.client.servers.failed(server)
            raise DirectoryUnavailable(
                f"the change feed lost the directory: {_text(exc)}"
            ) from None
        finally:
            _close(consumer)
            self.close()

    def read(self, uuid: str) -> Change | None:
        """Return the current state of the person or group with this entryUUID, or None."""
        query = f"(&{feed_filter(self.suffix)}{dn.equals('entryUUID', uuid)})"
        found = self.client.libldap.run(
            lambda c: c.search_s(self.suffix, ldap.SCOPE_SUBTREE, query, self.attributes)
        )
        entries = [(entry, attrs) for entry, attrs in found if entry]
        if not entries:
            return None
        entry, attrs = entries[0]
        return to_change(entry, attrs, uuid, self.resolve)

    def close(self) -> None:
        """Close this thread's lookup connection."""
        self.client.libldap.discard()

    def resolve(self, dn: str) -> str | None:
        """Return the entryUUID of the entry at ``dn`` (cached; None when it does not exist)."""
        key = dn.lower()
        if key in self._uuids:
            return self._uuids[key]
        try:
            found = self.client.libldap.run(
                lambda c: c.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["entryUUID"])
            )
        except NotFound:
            return None
        values = found[0][1].get("entryUUID") if found else None
        uuid = values[0].decode() if values else None
        if uuid is not None:
            if len(self._uuids) > 200_000:  # bound the cache; it refills from the directory
                self._uuids.clear()
            self._uuids[key] = uuid
        return uuid

    def remember(self, dn: str, uuid: str) -> None:
        """Cache where an entry is, from the feed itself (saves a lookup per group member)."""
        self._uuids[dn.lower()] = uuid


def _close(connection: SimpleLDAPObject) -> None:
    try:
        connection.unbind_s()
    except ldap.LDAPError:
        pass


def _text(exc: Any) -> str:
    """Return python-ldap's description of an error (its args hold a dict)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("desc") or info.get("info") or type(exc).__name__)
