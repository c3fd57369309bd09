"""Configuration that reaches every server of a replicated directory (issue 21).

Each server's cn=config is its own: entries replicate, schemas, overlays, indexes and access
rules do not. ``generation`` sums up what this code writes into cn=config (everything but the
server's own settings: serverID, syncrepl, folders, TLS files, rootDN), so two servers with
the same generation run the same configuration. ``upgrade_all`` applies this code's
cn=config to every server of the folder's replication on this machine, and says what to run
on the others.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.directory import replication
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import SlapdError

# A server's own settings, which differ between servers of one directory by design.
OWN_SETTINGS = frozenset(
    name.lower()
    for name in (
        "olcServerID",
        "olcSyncrepl",
        "olcMultiProvider",
        "olcUpdateRef",
        "olcDbDirectory",
        "olcDbNoSync",
        "olcRootDN",
        "olcPidFile",
        "olcArgsFile",
        "olcLogLevel",
        "olcSecurity",
        "olcTLSCertificateFile",
        "olcTLSCertificateKeyFile",
        "olcTLSCACertificateFile",
        "olcTLSProtocolMin",
    )
)
# Attributes whose values are in force in their order; the others are sets.
ORDERED = frozenset({"olcaccess", "olclimits"})
_NUMBER = re.compile(r"\{-?\d+\}")
# How long upgrade_all waits for the peers to hold the entries the upgrade changed.
CATCH_UP_SECONDS = 60.0


@dataclass(frozen=True)
class ServerConfig:
    """What one server's cn=config says, summed up for comparison."""

    generation: str
    accesslog_purge: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """Return it as plain JSON values."""
        return {"generation": self.generation, "accesslog_purge": list(self.accesslog_purge)}


@dataclass(frozen=True)
class PeerConfig:
    """A peer's cn=config next to this server's: ``same`` when their generations agree.

    ``schema_version`` is the version its folder records, when the folder is on this machine.
    """

    url: str
    config: ServerConfig | None
    same: bool
    schema_version: int | None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """Return it as plain JSON values."""
        found = self.config.as_json() if self.config else {}
        return found | {
            "same_as_this_server": self.same,
            "schema_version": self.schema_version,
            "error": self.error,
        }


def compare_configs(slapd: ManagedSlapd, urls: list[str]) -> list[PeerConfig]:
    """Return each peer's cn=config next to the running ``slapd``'s."""
    ours = local_config(slapd)
    folders = {peer.url: peer.data_dir for peer in _peers(slapd)}
    found = []
    for url in urls:
        server = _local_slapd(slapd, folders.get(url), running=False)
        version = server.schema_version() if server else None
        try:
            theirs = peer_config(slapd, url)
        except SlapdError as error:
            found.append(PeerConfig(url, None, False, version, str(error)))
            continue
        found.append(PeerConfig(url, theirs, theirs.generation == ours.generation, version))
    return found


def local_config(slapd: ManagedSlapd) -> ServerConfig:
    """Return the running folder's cn=config, read as rootDN over ldapi."""
    with replication.root_connection(slapd) as connection:
        return read_config(connection, slapd.suffix)


def peer_config(slapd: ManagedSlapd, url: str) -> ServerConfig:
    """Return the cn=config of the server at ``url``, read as the replication account."""
    with replication.replicator_connection(slapd, url) as connection:
        try:
            return read_config(connection, slapd.suffix)
        except LDAPException:
            raise SlapdError(
                f"cannot read the cn=config of {url}: run `mims slapd upgrade --all` to let "
                "the replication account read it"
            ) from None


def read_config(connection: ldap3.Connection, suffix: str) -> ServerConfig:
    """Return the generation and the accesslog purge of the cn=config behind ``connection``."""
    connection.search("cn=config", "(objectClass=*)", ldap3.SUBTREE, attributes=["*"])
    entries = [
        entry for entry in connection.response or [] if entry.get("type") == "searchResEntry"
    ]
    if not entries:
        raise SlapdError("cannot read cn=config: the replication account may not read it")
    replicator = f'dn.exact="{replication.replicator_dn(suffix)}"'
    summary: dict[str, dict[str, list[str]]] = {}
    purge: list[str] = []
    for entry in entries:
        settings: dict[str, list[str]] = {}
        for name, raw in entry["raw_attributes"].items():
            if not name.lower().startswith("olc") or name.lower() in OWN_SETTINGS:
                continue
            values = [_plain(value.decode(errors="replace")) for value in raw]
            values = [value for value in values if replicator not in value]
            settings[name.lower()] = values if name.lower() in ORDERED else sorted(values)
            if name.lower() == "olcaccesslogpurge":
                purge += values
        summary[_plain_dn(str(entry["dn"]))] = settings
    text = json.dumps(summary, sort_keys=True)
    return ServerConfig(hashlib.sha256(text.encode()).hexdigest()[:12], tuple(purge))


def _plain(value: str) -> str:
    """Return a value without cn=config's ``{N}`` order prefix, its spaces evened out."""
    return " ".join(re.sub(r"^\{-?\d+\}", "", value).split())


def _plain_dn(name: str) -> str:
    """Return a cn=config DN without order numbers but a database's.

    A database's number tells the people's database from the accesslog's (both ``mdb``).
    """
    parts = [
        part if part.lower().startswith("olcdatabase=") else _NUMBER.sub("", part)
        for part in name.split(",")
    ]
    return ",".join(parts).lower()


# -- applying it everywhere ------------------------------------------------------------------


def upgrade_all(
    slapd: ManagedSlapd, say: Callable[[str], None], catch_up: float = CATCH_UP_SECONDS
) -> bool:
    """Apply this code's cn=config to ``slapd`` and to every server of its replication.

    Servers on this machine (their folders known from ``init-replica``) are changed over
    their ldapi sockets: first every other server's cn=config (schemas before the entries
    that use them arrive), then ``slapd``'s cn=config and entries, then, once each other
    server holds those entries, its own pass, which records the version in its folder (a
    consumer's entries are never changed: they come from its provider). For a server on
    another machine ``say`` is told what to run there. Return whether every server was done.
    """
    if slapd.pid() is None:
        raise SlapdError(f"the slapd of {slapd.layout.root} is not running: start it first")
    known = replication.partner(slapd)
    if known is not None and known.role == replication.CONSUMER:
        raise SlapdError(
            f"{slapd.layout.root} is a read-only consumer: run this on a provider's folder"
        )
    here, elsewhere = _replication_set(slapd)
    for peer in elsewhere:
        folder = f"--data-dir {peer.data_dir or 'ITS_FOLDER'}"
        say(
            f"{peer.url} is on another machine: there run `mims slapd upgrade --config-only "
            f"{folder}` before this, and `mims slapd upgrade {folder}` after"
        )
    for peer, server in here:
        server.upgrade(force=True, config_only=True)
        _grant(server)
        say(f"{peer.url}: cn=config applied ({server.layout.root})")
    slapd.upgrade(force=True)
    if known is not None:
        _grant(slapd)
    say(f"{slapd.layout.root}: cn=config and entries at schema version {slapd.schema_version()}")
    for peer, server in here:
        _wait_in_step(slapd, peer.url, catch_up)
        server.upgrade(force=True)
        say(f"{peer.url}: schema version {server.schema_version()} ({server.layout.root})")
    return not elsewhere


def _replication_set(
    slapd: ManagedSlapd,
) -> tuple[list[tuple[replication.Peer, ManagedSlapd]], list[replication.Peer]]:
    """Return the other servers of ``slapd``'s replication: those here, and the others.

    Each folder here names its own peers, so a consumer of the other provider is found too.
    """
    seen_folders = {slapd.layout.root}
    seen_urls = {slapd.ldaps_url()}
    here: list[tuple[replication.Peer, ManagedSlapd]] = []
    elsewhere: list[replication.Peer] = []
    waiting = list(_peers(slapd))
    while waiting:
        peer = waiting.pop(0)
        server = _local_slapd(slapd, peer.data_dir)
        if server is not None and server.layout.root not in seen_folders:
            seen_folders.add(server.layout.root)
            seen_urls.add(peer.url)
            here.append((peer, server))
            waiting += _peers(server)
        elif server is None and peer.url not in seen_urls:
            seen_urls.add(peer.url)
            elsewhere.append(peer)
    return here, elsewhere


def _peers(slapd: ManagedSlapd) -> tuple[replication.Peer, ...]:
    return (replication.partner(slapd) or replication.Partner(0)).peers


def _local_slapd(
    slapd: ManagedSlapd, folder: str | None, running: bool = True
) -> ManagedSlapd | None:
    """Return the (running) peer in ``folder`` on this machine, None when it is not here."""
    if folder is None or not Path(folder).is_dir():
        return None
    peer = ManagedSlapd(Path(folder), slapd.suffix, slapd.no_sync, posix=slapd.posix)
    if not peer.is_initialised():
        return None
    if running and peer.pid() is None:
        raise SlapdError(f"the slapd of {folder} is not running: start it, then run this again")
    return peer


def _grant(server: ManagedSlapd) -> None:
    """Keep the replication account's rights (and give cn=config's to older replicas)."""
    with replication.root_connection(server) as connection:
        replication.grant_replicator(connection, server.suffix)


def _wait_in_step(slapd: ManagedSlapd, url: str, seconds: float) -> None:
    """Wait until the peer at ``url`` holds every change ``slapd`` holds."""
    deadline = time.monotonic() + seconds
    while True:
        (lag,) = replication.replication_lag(slapd, [url])
        if lag.in_step:
            return
        if time.monotonic() > deadline:
            raise SlapdError(
                f"{url} did not catch up within {seconds:.0f} s "
                f"({lag.error or 'see mims slapd status'}); run this again when it has"
            )
        time.sleep(0.2)
