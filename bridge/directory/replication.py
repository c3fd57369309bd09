"""More servers of the managed directory: plain syncrepl over TLS (issue 21).

``init_replica`` makes one in a data folder of its own from a running first provider on this
machine: the first's CA (so one ``ca.pem`` trusts all), a copy of its data (slapcat, so both
start from the same entries, entryUUIDs and contextCSN), the same cn=config from code, and a
``cn=replicator`` account on the first that reads everything replicated.

- A second **provider** gets its own serverID; each pulls the other's tree with a syncrepl
  (refreshAndPersist) with ``olcMultiProvider`` on, so a write to either reaches the other.
- A read-only **consumer** pulls the first's tree and refuses writes: it is a shadow copy (a
  syncrepl without multi-provider) whose ``olcUpdateRef`` sends writers to the first with a
  referral.

Plain syncrepl, not delta-syncrepl (``syncdata=accesslog``): on slapd 2.5 delta-syncrepl left
43 to 47 adds of a 10,000-person import on one provider alone, plain syncrepl none. Its
weakness, the later of two writes to one entry on both providers winning whole, needs writes
on both, which one write target (``write_target.py``) leaves to ppolicy's failure times. The
accesslog stays, for ``mims audit``; ``schema_upgrade`` turns an older delta stanza into a
plain one (docs/high-availability.md).

``replication_lag`` compares this server's contextCSN with each peer's, serverID by serverID.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.directory import csn, dn, ldap3_connections, slapd_config
from bridge.directory.ldap3_connections import VerifiedTls
from bridge.directory.slapd import ManagedSlapd, tool
from bridge.errors import SlapdError

REPLICATOR = slapd_config.REPLICATION_ACCOUNT
FIRST_SERVER_ID = 1
SECOND_SERVER_ID = 2
# Retry every 2 s five times, then every 10 s for ever: a peer that restarts is caught up.
RETRY = "2 5 10 +"
PROVIDER = "provider"
CONSUMER = "consumer"
CONFIG_DATABASE = "olcDatabase={0}config,cn=config"


@dataclass(frozen=True)
class Peer:
    """Another server of the folder's replication: its URL, its role, its folder if local."""

    url: str
    role: str = PROVIDER
    data_dir: str | None = None


@dataclass(frozen=True)
class Partner:
    """What a data folder knows of its replication: its serverID, its role and its peers.

    A consumer, and a provider with consumers but no second provider, have serverID 0.
    """

    server_id: int
    role: str = PROVIDER
    peers: tuple[Peer, ...] = ()

    @property
    def peer_url(self) -> str | None:
        """Return the other provider's URL (a consumer's: the provider it pulls from)."""
        return next((peer.url for peer in self.peers if peer.role == PROVIDER), None)


def replicator_dn(suffix: str) -> str:
    """Return the replication account: a service account, read rights on everything."""
    return dn.service_account_dn(REPLICATOR, suffix)


def secret_file(slapd: ManagedSlapd) -> Path:
    """Return the file with the replication account's password (0600, in both folders)."""
    return slapd.layout.root / "replication.secret"


def partner_file(slapd: ManagedSlapd) -> Path:
    """Return the file that names the folder's serverID and its peer."""
    return slapd.layout.root / "replication.json"


def partner(slapd: ManagedSlapd) -> Partner | None:
    """Return what the folder knows of its replication, None when it has none."""
    try:
        data = json.loads(partner_file(slapd).read_text())
        peers = [Peer(str(p["url"]), str(p["role"]), p.get("data_dir")) for p in data["peers"]]
        return Partner(int(data["server_id"]), str(data["role"]), tuple(peers))
    except KeyError:  # written before consumers: a provider and its one peer
        return Partner(int(data["server_id"]), PROVIDER, (Peer(str(data["peer_url"])),))
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return None


def access_rule(suffix: str) -> str:
    """Return the rule put first on both databases: the replicator reads, others go on."""
    return f'to * by dn.exact="{replicator_dn(suffix)}" read by * break'


def limit(suffix: str) -> str:
    """Return the replicator's olcLimits: no size or time limit on its refreshes."""
    return f'dn.exact="{replicator_dn(suffix)}" size=unlimited time=unlimited'


def config_rule(suffix: str) -> str:
    """Return the rule on cn=config: the replicator reads it, to compare servers' settings."""
    return f'to * by dn.exact="{replicator_dn(suffix)}" read by * none'


# -- making a replica -------------------------------------------------------------------------


def init_replica(
    first: ManagedSlapd,
    second: ManagedSlapd,
    from_url: str,
    port: int,
    ldaps_port: int,
    *,
    read_only: bool = False,
) -> None:
    """Make ``second`` a replica of the running ``first`` (at ``from_url``) and start it.

    A provider (the default) replicates both ways with ``first``; a ``read_only`` consumer
    pulls from it and refuses writes. A refusal before the second folder exists leaves
    nothing; a failure after removes the second folder, and leaves on the first the
    replicator account (reused next time) and what of its replication settings were already
    made (the first's are made last).
    """
    _check_url(from_url)
    if first.pid() is None:
        raise SlapdError(f"the first provider's slapd ({first.layout.root}) is not running")
    first.check_version()
    _probe(from_url, first)
    known = partner(first) or Partner(0)
    if known.role == CONSUMER:
        raise SlapdError(f"{first.layout.root} is a read-only consumer; replicate a provider")
    if not read_only and known.peer_url is not None:
        raise SlapdError(
            f"{first.layout.root} already has a second provider; add read-only consumers "
            "(--read-only) for more servers"
        )
    ca_key = first.layout.tls_dir / "ca.key"
    if first.certificate is not None or not ca_key.exists():
        raise SlapdError("init-replica needs the first folder's own CA (tls/ca.key)")
    second.check_empty()
    password = _replication_password(first)
    with root_connection(first) as connection:
        _ensure_replicator(connection, first.suffix, password)
    try:
        second.init_copy_of(first, _slapcat(first))
        _write_private(secret_file(second), password)
        second.start(port, ldaps_port)
        ca = str(second.layout.tls_dir / "ca.pem")
        url = second.ldaps_url()
        assert url is not None
        first_peer = Peer(from_url, PROVIDER, str(first.layout.root))
        if read_only:
            with root_connection(second) as connection:
                configure_consumer(connection, second.suffix, from_url, ca, password)
            with root_connection(first) as connection:
                grant_replicator(connection, first.suffix)
            _write_partner(second, Partner(0, CONSUMER, (first_peer,)))
            server_id = known.server_id
        else:
            with root_connection(second) as connection:
                configure(connection, second.suffix, SECOND_SERVER_ID, from_url, ca, password)
            with root_connection(first) as connection:
                configure(connection, first.suffix, FIRST_SERVER_ID, url, ca, password)
            _write_partner(second, Partner(SECOND_SERVER_ID, PROVIDER, (first_peer,)))
            server_id = FIRST_SERVER_ID
        new_peer = Peer(url, CONSUMER if read_only else PROVIDER, str(second.layout.root))
        _write_partner(first, Partner(server_id, PROVIDER, (*known.peers, new_peer)))
    except BaseException:
        second.stop()
        shutil.rmtree(second.layout.root, ignore_errors=True)
        raise


def configure(
    connection: ldap3.Connection, suffix: str, server_id: int, peer: str, ca: str, password: str
) -> None:
    """Give one running provider its serverID, the replicator's rights and a syncrepl to ``peer``.

    Run as rootDN over ldapi. The syncprov overlays (people's database and accesslog) are
    part of every managed folder's cn=config already.
    """
    _modify(connection, "cn=config", {"olcServerID": [(ldap3.MODIFY_REPLACE, [str(server_id)])]})
    grant_replicator(connection, suffix)
    changes = {
        "olcSyncrepl": [
            (ldap3.MODIFY_REPLACE, [_stanza(_peer_id(server_id), peer, suffix, ca, password)])
        ],
        "olcMultiProvider": [(ldap3.MODIFY_REPLACE, ["TRUE"])],
    }
    _modify(connection, _database(connection, suffix), changes)


def configure_consumer(
    connection: ldap3.Connection, suffix: str, provider: str, ca: str, password: str
) -> None:
    """Make one running server a read-only consumer of ``provider``, as rootDN over ldapi.

    A database with a syncrepl and no multi-provider is a shadow copy: slapd refuses every
    write but the syncrepl's (and the rootDN's), with a referral to ``olcUpdateRef``.
    """
    grant_replicator(connection, suffix)
    people = _database(connection, suffix)
    stanza = _stanza(FIRST_SERVER_ID, provider, suffix, ca, password)
    _modify(connection, people, {"olcSyncrepl": [(ldap3.MODIFY_REPLACE, [stanza])]})
    # After the syncrepl: slapd takes an update referral only on a shadow database.
    _modify(connection, people, {"olcUpdateRef": [(ldap3.MODIFY_REPLACE, [provider])]})


def grant_replicator(connection: ldap3.Connection, suffix: str) -> None:
    """Let the replicator read everything replicated and cn=config (repeatable), as rootDN."""
    for database in (_database(connection, suffix), slapd_config.ACCESSLOG_DATABASE):
        _put_first(connection, database, "olcAccess", access_rule(suffix))
        _put_first(connection, database, "olcLimits", limit(suffix))
    _put_first(connection, CONFIG_DATABASE, "olcAccess", config_rule(suffix))


def _stanza(rid: int, provider: str, suffix: str, ca: str, password: str) -> str:
    """Return a plain syncrepl of ``provider``'s tree over TLS, checked with ``ca``.

    Plain, not delta-syncrepl (no ``logbase``, ``logfilter``, ``syncdata``): with delta,
    slapd 2.5 lost adds of a 10,000-person import (docs/high-availability.md).
    """
    return " ".join(
        [
            f"rid={rid:03d}",
            f"provider={provider}",
            "bindmethod=simple",
            f'binddn="{replicator_dn(suffix)}"',
            f'credentials="{password}"',
            f'searchbase="{suffix}"',
            "type=refreshAndPersist",
            f'retry="{RETRY}"',
            "schemachecking=on",
            f'tls_cacert="{ca}"',
            "tls_reqcert=demand",
        ]
    )


def _peer_id(server_id: int) -> int:
    """Return the other one's serverID: each syncrepl's replica ID (rid) names its source."""
    return FIRST_SERVER_ID if server_id == SECOND_SERVER_ID else SECOND_SERVER_ID


# -- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerLag:
    """One serverID's newest change as this server and a peer hold it.

    ``behind_seconds`` is how far the peer's is older than this server's (negative: the
    peer is ahead), None when one of the two holds no change from that serverID.
    """

    server_id: int
    ours: str | None
    theirs: str | None
    behind_seconds: float | None


@dataclass(frozen=True)
class PeerLag:
    """How far one peer is from this server: its contextCSN and the lag, serverID by serverID.

    ``lag_seconds`` is the largest difference of any serverID's newest change times (0.0:
    in step), None when the peer could not be read (``error`` says why) or one of the two
    holds no change from a serverID the other has.
    """

    url: str
    role: str
    reachable: bool
    in_step: bool
    context_csn: tuple[str, ...]
    servers: tuple[ServerLag, ...]
    lag_seconds: float | None
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """Return it as plain JSON values (``mims slapd status --json``)."""
        return asdict(self)


def replication_lag(slapd: ManagedSlapd, peers: Sequence[str] = ()) -> list[PeerLag]:
    """Return how far each peer is from the running ``slapd`` (``peers``, else the folder's).

    A peer is read as the replication account over TLS; one that cannot be read comes back
    with ``reachable`` False and the reason, so one dead peer hides nothing of the others.
    """
    ours = local_context_csn(slapd)
    known = partner(slapd)
    wanted = [Peer(url, "peer") for url in peers] or list(known.peers if known else ())
    found: list[PeerLag] = []
    for peer in wanted:
        try:
            theirs = peer_context_csn(slapd, peer.url)
        except SlapdError as error:
            found.append(PeerLag(peer.url, peer.role, False, False, (), (), None, str(error)))
            continue
        found.append(compare(peer, ours, theirs))
    return found


def compare(peer: Peer, ours: Sequence[str], theirs: Sequence[str]) -> PeerLag:
    """Return the lag of a peer holding contextCSN ``theirs`` behind ``ours``."""
    mine, its = csn.by_server(ours), csn.by_server(theirs)
    servers = []
    for server_id in sorted(mine.keys() | its.keys()):
        a, b = mine.get(server_id), its.get(server_id)
        behind = csn.seconds_behind(a, b) if a and b else None
        servers.append(ServerLag(server_id, a.text if a else None, b.text if b else None, behind))
    gaps = [server.behind_seconds for server in servers]
    lag = None if None in gaps else max((abs(gap) for gap in gaps if gap is not None), default=0.0)
    in_step = sorted(ours) == sorted(theirs)
    return PeerLag(peer.url, peer.role, True, in_step, tuple(sorted(theirs)), tuple(servers), lag)


def local_context_csn(slapd: ManagedSlapd) -> list[str]:
    """Return the running folder's contextCSN values (one per serverID), sorted."""
    with root_connection(slapd) as connection:
        return _context_csn(connection, slapd.suffix)


def peer_context_csn(slapd: ManagedSlapd, url: str) -> list[str]:
    """Return the contextCSN of the server at ``url``, read as the replicator over TLS."""
    with replicator_connection(slapd, url) as connection:
        try:
            return _context_csn(connection, slapd.suffix)
        except LDAPException:
            raise SlapdError(f"the peer at {url} did not answer a search in time") from None


class replicator_connection:
    """A connection to ``url`` bound as the replication account over TLS, closed on leaving."""

    def __init__(self, slapd: ManagedSlapd, url: str) -> None:
        self.slapd = slapd
        self.url = url
        self.connection: ldap3.Connection | None = None

    def __enter__(self) -> ldap3.Connection:
        try:
            password = secret_file(self.slapd).read_text()
        except FileNotFoundError:
            raise SlapdError(
                f"{self.slapd.layout.root} has no replication account to read {self.url}"
            ) from None
        try:
            self.connection = ldap3.Connection(
                _tls_server(self.url, self.slapd),
                replicator_dn(self.slapd.suffix),
                password,
                auto_bind=True,
                auto_referrals=False,
                raise_exceptions=True,
                receive_timeout=5,
            )
        except LDAPException:
            raise SlapdError(
                f"cannot read the peer at {self.url} as the replication account"
            ) from None
        return self.connection

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            self.connection.unbind()


def _context_csn(connection: ldap3.Connection, suffix: str) -> list[str]:
    connection.search(suffix, "(objectClass=*)", ldap3.BASE, attributes=["contextCSN"])
    values = (
        connection.response[0]["raw_attributes"].get("contextCSN", [])
        if connection.response
        else []
    )
    return sorted(value.decode() for value in values)


# -- helpers ----------------------------------------------------------------------------------


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "ldaps" or not parts.hostname or parts.path not in ("", "/"):
        raise SlapdError(
            f"--from {url!r} is not an ldaps:// URL of the first provider, such as "
            "ldaps://ldap1.example.edu.sg:1636"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise SlapdError(f"--from {url!r} has a port that is not a number") from None


def _probe(url: str, first: ManagedSlapd) -> None:
    """Refuse a URL where the first provider does not answer over TLS with its CA."""
    try:
        connection = ldap3.Connection(
            _tls_server(url, first), auto_bind=False, raise_exceptions=True, receive_timeout=5
        )
        connection.open()
        connection.search("", "(objectClass=*)", ldap3.BASE, attributes=["namingContexts"])
        contexts = connection.response[0]["raw_attributes"].get("namingContexts", [])
        connection.unbind()
    except (LDAPException, OSError, IndexError):
        raise SlapdError(
            f"the first provider does not answer at {url} over TLS with {first.ca_file}"
        ) from None
    if first.suffix.encode() not in contexts:
        raise SlapdError(f"the server at {url} does not hold {first.suffix}")


def _tls_server(url: str, slapd: ManagedSlapd) -> ldap3.Server:
    return ldap3.Server(
        url,
        use_ssl=True,
        tls=VerifiedTls(str(slapd.ca_file)),
        get_info=ldap3.NONE,
        connect_timeout=5,
    )


@contextmanager
def root_connection(slapd: ManagedSlapd) -> Iterator[ldap3.Connection]:
    """Bind as the folder's rootDN over its ldapi socket; its slapd down is a SlapdError."""
    with ExitStack() as stack:
        try:
            connection = stack.enter_context(ldap3_connections.root_connection(slapd.ldapi_url))
        except LDAPException:
            raise SlapdError(f"cannot reach the slapd of {slapd.layout.root}") from None
        yield connection


def _ensure_replicator(connection: ldap3.Connection, suffix: str, password: str) -> None:
    entry = replicator_dn(suffix)
    attributes = {
        "objectClass": ["top", "organizationalRole", "simpleSecurityObject"],
        "cn": [REPLICATOR],
        "description": ["Replication between providers (mims slapd init-replica)"],
        "userPassword": [password],
    }
    try:
        connection.add(entry, attributes=attributes)
    except LDAPException:
        if connection.result.get("result") != 68:
            raise SlapdError("cannot make the replication account on the first provider") from None
        change = {"userPassword": [(ldap3.MODIFY_REPLACE, [password])]}
        _modify(connection, entry, change)


def _replication_password(first: ManagedSlapd) -> str:
    try:
        return secret_file(first).read_text()
    except FileNotFoundError:
        password = secrets.token_urlsafe(24)
        _write_private(secret_file(first), password)
        return password


def _slapcat(first: ManagedSlapd) -> str:
    command = [tool("slapcat"), "-F", str(first.layout.config_dir), "-b", first.suffix]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SlapdError(f"slapcat could not copy {first.layout.root}")
    return result.stdout


def _database(connection: ldap3.Connection, suffix: str) -> str:
    connection.search("cn=config", dn.equals("olcSuffix", suffix), ldap3.LEVEL)
    return str(connection.response[0]["dn"])


def _put_first(connection: ldap3.Connection, database: str, attribute: str, value: str) -> None:
    """Add ``value`` as the first of an ordered attribute, unless it is there already."""
    connection.search(database, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
    present = connection.response[0]["raw_attributes"].get(attribute, [])
    if any(v.decode().split("}", 1)[-1] == value for v in present):
        return
    _modify(connection, database, {attribute: [(ldap3.MODIFY_ADD, [f"{{0}}{value}"])]})


def _modify(connection: ldap3.Connection, entry: str, changes: dict[str, Any]) -> None:
    try:
        connection.modify(entry, changes)
    except LDAPException:
        message = connection.result.get("message") or connection.result.get("description")
        raise SlapdError(f"slapd refused the replication settings of {entry}: {message}") from None


def _write_partner(slapd: ManagedSlapd, known: Partner) -> None:
    data = {
        "server_id": known.server_id,
        "role": known.role,
        "peer_url": known.peer_url,  # what folders made before consumers had
        "peers": [asdict(peer) for peer in known.peers],
    }
    _write_private(partner_file(slapd), json.dumps(data, indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
