"""A second provider of the managed directory: delta-syncrepl both ways over TLS (issue 21).

``init_replica`` makes it in a data folder of its own from a running first provider on this
machine: the first's CA (so one ``ca.pem`` trusts both), a copy of its data (slapcat, so both
start from the same entries, entryUUIDs and contextCSN), the same cn=config from code, its
own serverID, and a ``cn=replicator`` account on the first that reads everything replicated.
Both providers then pull each other's accesslog (``syncdata=accesslog``) with
``olcMultiProvider`` on, so a write to either reaches the other.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException

from bridge.directory import dn, slapd_config
from bridge.directory.ldap3_connections import VerifiedTls
from bridge.directory.slapd import ManagedSlapd, tool
from bridge.errors import SlapdError

REPLICATOR = "replicator"
FIRST_SERVER_ID = 1
SECOND_SERVER_ID = 2
# Retry every 2 s five times, then every 10 s for ever: a peer that restarts is caught up.
RETRY = "2 5 10 +"
LOG_FILTER = "(&(objectClass=auditWriteObject)(reqResult=0))"


@dataclass(frozen=True)
class Partner:
    """What a data folder knows of its replication: its serverID and its peer's URL."""

    server_id: int
    peer_url: str


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
    """Return the folder's replication partner, None when it has none."""
    try:
        data = json.loads(partner_file(slapd).read_text())
        return Partner(int(data["server_id"]), str(data["peer_url"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def access_rule(suffix: str) -> str:
    """Return the rule put first on both databases: the replicator reads, others go on."""
    return f'to * by dn.exact="{replicator_dn(suffix)}" read by * break'


def limit(suffix: str) -> str:
    """Return the replicator's olcLimits: no size or time limit on its refreshes."""
    return f'dn.exact="{replicator_dn(suffix)}" size=unlimited time=unlimited'


# -- making the pair --------------------------------------------------------------------------


def init_replica(
    first: ManagedSlapd, second: ManagedSlapd, from_url: str, port: int, ldaps_port: int
) -> None:
    """Make ``second`` a provider paired with the running ``first`` (at ``from_url``), start it.

    A refusal before the second folder exists leaves nothing; a failure after removes the
    second folder, and leaves on the first the replicator account (reused next time) and
    what of its replication settings were already made (the first's are made last).
    """
    _check_url(from_url)
    if first.pid() is None:
        raise SlapdError(f"the first provider's slapd ({first.layout.root}) is not running")
    first.check_version()
    _probe(from_url, first)
    if partner(first) is not None:
        raise SlapdError(f"{first.layout.root} already has a replica; a pair is all this makes")
    ca_key = first.layout.tls_dir / "ca.key"
    if first.certificate is not None or not ca_key.exists():
        raise SlapdError("init-replica needs the first folder's own CA (tls/ca.key)")
    second.check_empty()
    password = _replication_password(first)
    with _root(first) as connection:
        _ensure_replicator(connection, first.suffix, password)
    try:
        second.init_copy_of(first, _slapcat(first))
        _write_private(secret_file(second), password)
        second.start(port, ldaps_port)
        ca = str(second.layout.tls_dir / "ca.pem")
        with _root(second) as connection:
            configure(connection, second.suffix, SECOND_SERVER_ID, from_url, ca, password)
        peer = second.ldaps_url()
        assert peer is not None
        with _root(first) as connection:
            configure(connection, first.suffix, FIRST_SERVER_ID, peer, ca, password)
        _write_partner(second, Partner(SECOND_SERVER_ID, from_url))
        _write_partner(first, Partner(FIRST_SERVER_ID, peer))
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
    people = _database(connection, suffix)
    for database in (people, slapd_config.ACCESSLOG_DATABASE):
        _put_first(connection, database, "olcAccess", access_rule(suffix))
        _put_first(connection, database, "olcLimits", limit(suffix))
    stanza = " ".join(
        [
            f"rid={_peer_id(server_id):03d}",
            f"provider={peer}",
            "bindmethod=simple",
            f'binddn="{replicator_dn(suffix)}"',
            f'credentials="{password}"',
            f'searchbase="{suffix}"',
            f'logbase="{slapd_config.ACCESSLOG_SUFFIX}"',
            f'logfilter="{LOG_FILTER}"',
            "syncdata=accesslog",
            "type=refreshAndPersist",
            f'retry="{RETRY}"',
            "schemachecking=on",
            f'tls_cacert="{ca}"',
            "tls_reqcert=demand",
        ]
    )
    changes = {
        "olcSyncrepl": [(ldap3.MODIFY_REPLACE, [stanza])],
        "olcMultiProvider": [(ldap3.MODIFY_REPLACE, ["TRUE"])],
    }
    _modify(connection, people, changes)


def _peer_id(server_id: int) -> int:
    """Return the other one's serverID: each syncrepl's replica ID (rid) names its source."""
    return FIRST_SERVER_ID if server_id == SECOND_SERVER_ID else SECOND_SERVER_ID


# -- status -----------------------------------------------------------------------------------


def local_context_csn(slapd: ManagedSlapd) -> list[str]:
    """Return the running folder's contextCSN values (one per serverID), sorted."""
    with _root(slapd) as connection:
        return _context_csn(connection, slapd.suffix)


def peer_context_csn(slapd: ManagedSlapd, url: str) -> list[str]:
    """Return the contextCSN of the provider at ``url``, read as the replicator over TLS."""
    try:
        password = secret_file(slapd).read_text()
    except FileNotFoundError:
        raise SlapdError(f"{slapd.layout.root} has no replication account to read {url}") from None
    try:
        connection = ldap3.Connection(
            _tls_server(url, slapd),
            replicator_dn(slapd.suffix),
            password,
            auto_bind=True,
            raise_exceptions=True,
            receive_timeout=5,
        )
    except LDAPException:
        raise SlapdError(f"cannot read the peer at {url} as the replication account") from None
    try:
        return _context_csn(connection, slapd.suffix)
    finally:
        connection.unbind()


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


class _root:
    """A rootDN connection over the folder's ldapi socket (SASL EXTERNAL), closed on leaving."""

    def __init__(self, slapd: ManagedSlapd) -> None:
        self.slapd = slapd
        self.connection: ldap3.Connection | None = None

    def __enter__(self) -> ldap3.Connection:
        try:
            self.connection = ldap3.Connection(
                ldap3.Server(self.slapd.ldapi_url, get_info=ldap3.NONE),
                authentication=ldap3.SASL,
                sasl_mechanism=ldap3.EXTERNAL,
                sasl_credentials="",
                auto_bind=True,
                raise_exceptions=True,
            )
        except LDAPException:
            raise SlapdError(f"cannot reach the slapd of {self.slapd.layout.root}") from None
        return self.connection

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            self.connection.unbind()


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
    text = json.dumps({"server_id": known.server_id, "peer_url": known.peer_url}) + "\n"
    _write_private(partner_file(slapd), text)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
