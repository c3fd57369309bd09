"""The composition root: the one place that wires the directory's implementations into the core.

The app factory (``bridge.app``) and the ``mims`` command build a :class:`Backend` from the
configuration; front doors receive its core :class:`~bridge.core.services.Services` (or one of
its factories) and never import ``bridge.directory``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.audit import AuditFile
from bridge.config import Config
from bridge.core import passwords
from bridge.core.audited import Trail, audited
from bridge.core.audited_grants import AuditedGrants
from bridge.core.group_address import AddressRules
from bridge.core.naming import NamingRules
from bridge.core.policy_book import PolicyBook, Rule
from bridge.core.ports import Grants, NoOutcomes, Outcomes
from bridge.core.posix import PosixRules
from bridge.core.services import Services
from bridge.directory import export, settings
from bridge.directory.answers import AnswerStore
from bridge.directory.client import LdapClient
from bridge.directory.grants import GrantStore
from bridge.directory.passwords import CredentialStore
from bridge.directory.people import PeopleStore
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.tokens import TokenStore
from bridge.errors import ConfigError, SlapdError

# What only some commands use is imported inside the function that uses it: each `mims`
# command is a process of its own, and one that needs the people store does not also load
# the backup, replication, initial-load, password-service and console code (a few tenths of
# a second of CPU each time).
if TYPE_CHECKING:
    from bridge.core.admin_console import AdminConsole
    from bridge.core.audit import Event, Selection
    from bridge.core.failover import Failover
    from bridge.core.gcds import GroupEntry, PersonEntry
    from bridge.core.health import Readiness
    from bridge.core.monitor import ServerFigures
    from bridge.core.ports import RosterImport, ServiceAccounts
    from bridge.core.request_desk import RequestDesk
    from bridge.core.sync import ChangeFeed, SyncState, TargetStatus
    from bridge.directory.backup import Manifest as BackupManifest
    from bridge.directory.check import Finding as DirectoryFinding
    from bridge.directory.group_addresses import GroupAddresses
    from bridge.directory.initial_load import LoadProgress
    from bridge.directory.replica_config import PeerConfig, ServerConfig
    from bridge.directory.replication import PeerLag
    from bridge.directory.supervisor import SlapdSupervisor

__all__ = [
    "Backend",
    "BackupManifest",
    "DirectoryFinding",
    "PeerConfig",
    "PeerLag",
    "ServerConfig",
    "backup",
    "backup_name",
    "Services",
    "address_rules",
    "audit_events",
    "audit_file",
    "build",
    "directory_check",
    "directory_config_ldif",
    "directory_data_ldif",
    "ensure_running",
    "failover",
    "local_ca_file",
    "local_https",
    "managed_slapd",
    "naming_rules",
    "password_service_address",
    "policy_book",
    "posix_rules",
    "restore",
    "run_password_service",
    "slapd_supervisor",
]

DEFAULT_DATABASE_DN = export.DEFAULT_DATABASE

# The directory's record types this module names, loaded when first asked for.
_LAZY_NAMES = {
    "BackupManifest": ("bridge.directory.backup", "Manifest"),
    "DirectoryFinding": ("bridge.directory.check", "Finding"),
    "PeerConfig": ("bridge.directory.replica_config", "PeerConfig"),
    "ServerConfig": ("bridge.directory.replica_config", "ServerConfig"),
    "PeerLag": ("bridge.directory.replication", "PeerLag"),
}


def __getattr__(name: str) -> Any:
    """Return one of the directory's record types of ``_LAZY_NAMES``, importing its module."""
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY_NAMES[name]
    return getattr(importlib.import_module(module), attribute)


def policy_book(config: Config) -> PolicyBook:
    """Return the configured password policies and the rules that choose among them."""
    policies = {
        name: passwords.Policy(name=name, **asdict(policy))
        for name, policy in config.policies.items()
    }
    rules = [
        Rule(policy=r.policy, role=r.role, school=r.school, level=r.level)
        for r in config.passwords.rules
    ]
    return PolicyBook(policies, rules, config.passwords.default_policy)


def naming_rules(config: Config) -> NamingRules:
    """Return the configured login-ID naming rules."""
    return NamingRules(frozenset(config.naming.connector_words), config.naming.max_local_length)


def posix_rules(config: Config) -> PosixRules:
    """Return the configured number ranges, home folder and login shells (``[posix]``)."""
    return settings.posix_rules(config)


def address_rules(config: Config) -> AddressRules:
    """Return the configured rule for groups' e-mail addresses."""
    return AddressRules(config.naming.group_domain)


def managed_slapd(config: Config) -> ManagedSlapd:
    """Return the managed slapd of the configured data folder."""
    return settings.managed_slapd(config)


def init_replica(
    first: ManagedSlapd,
    second: ManagedSlapd,
    from_url: str,
    port: int,
    ldaps_port: int,
    *,
    read_only: bool = False,
) -> None:
    """Make and start ``second``, a provider or read-only consumer of ``first`` (issue 21)."""
    from bridge.directory import replication

    replication.init_replica(first, second, from_url, port, ldaps_port, read_only=read_only)


def failover(config: Config) -> Failover:
    """Return the write target of the configured directory's providers (`mims failover`)."""
    from bridge.directory.failover import Providers

    return Providers(settings.client_settings(config))


def context_csn(server: ManagedSlapd) -> list[str]:
    """Return the running managed slapd's contextCSN values, sorted."""
    from bridge.directory import replication

    return replication.local_context_csn(server)


def replication_peer(server: ManagedSlapd) -> str | None:
    """Return the URL of the folder's replication partner, None when it has none."""
    from bridge.directory import replication

    known = replication.partner(server)
    return known.peer_url if known else None


def peer_context_csn(server: ManagedSlapd, url: str) -> list[str]:
    """Return the contextCSN of the provider at ``url``, read with the folder's replicator."""
    from bridge.directory import replication

    return replication.peer_context_csn(server, url)


def replication_lag(server: ManagedSlapd, peers: Sequence[str] = ()) -> list[PeerLag]:
    """Return each peer's contextCSN and lag behind the running managed slapd (issue 21)."""
    from bridge.directory import replication

    return replication.replication_lag(server, peers)


def directory_config(server: ManagedSlapd) -> ServerConfig:
    """Return the running managed slapd's cn=config generation and accesslog purge."""
    from bridge.directory import replica_config

    return replica_config.local_config(server)


def compare_configs(server: ManagedSlapd, urls: list[str]) -> list[PeerConfig]:
    """Return each peer's cn=config generation next to the managed slapd's (issue 21)."""
    from bridge.directory import replica_config

    return replica_config.compare_configs(server, urls)


def upgrade_directory(
    server: ManagedSlapd, every_server: bool, config_only: bool, say: Callable[[str], None]
) -> bool:
    """Apply this code's cn=config (and schema version) to the folder, or to every server.

    Return whether every server was done (one on another machine is told to ``say``).
    """
    from bridge.directory import replica_config

    if every_server:
        return replica_config.upgrade_all(server, say)
    if server.pid() is None:
        raise SlapdError(f"the slapd of {server.layout.root} is not running: start it first")
    server.upgrade(force=True, config_only=config_only)
    done = "configuration applied" if config_only else f"schema version {server.schema_version()}"
    say(f"{server.layout.root}: {done}")
    return True


def has_replicas(server: ManagedSlapd) -> bool:
    """Return whether the folder replicates with other servers (init-replica)."""
    from bridge.directory import replication

    return replication.partner(server) is not None


def ensure_running(config: Config) -> bool:
    """Initialise and start the managed slapd if it is the directory; say if this started it."""
    return settings.ensure_running(config)


def local_https(config: Config) -> Config:
    """Return ``config`` serving HTTPS with a certificate from the data folder's local CA.

    The certificate (``DATA/tls/http.pem``, its key 0600) names localhost, 127.0.0.1, this
    host's name and ``[http] host``; it is made or renewed now, and browsers and ``curl``
    trust it with ``DATA/tls/ca.pem``, the CA the managed slapd's certificate comes from.
    """
    from bridge.directory import local_ca

    folder = managed_slapd(config).layout.tls_dir
    files = local_ca.ensure(folder, local_ca.server_names([config.http.host]), stem="http")
    return config.with_overrides(http={"tls_cert": str(files.cert), "tls_key": str(files.key)})


def local_ca_file(config: Config) -> Path:
    """Return the data folder's local CA certificate, which clients of ``--https`` trust."""
    return managed_slapd(config).layout.tls_dir / "ca.pem"


def password_service_address(config: Config) -> tuple[str, int]:
    """Return where the LDAP password service listens: ``[password_service]``, else [http]."""
    section = config.password_service
    return section.host or config.http.host, section.port


def password_service_tls(config: Config) -> tuple[str, str]:
    """Return the password service's certificate and key files, checked.

    Without ``[password_service] tls_cert``, the data folder's CA signs one
    (``DATA/tls/password-service.pem``) for localhost, this host and the listen address.
    """
    from bridge.core.certificates import Settings as CertificateSettings
    from bridge.core.certificates import check_files
    from bridge.directory import local_ca

    section = config.password_service
    if section.tls_cert:
        names = CertificateSettings("password_service.tls_cert", "password_service.tls_key")
        check_files(section.tls_cert, section.tls_key, "", names)
        return str(Path(section.tls_cert).expanduser()), str(Path(section.tls_key).expanduser())
    host, _ = password_service_address(config)
    folder = managed_slapd(config).layout.tls_dir
    files = local_ca.ensure(folder, local_ca.server_names([host]), stem="password-service")
    return str(files.cert), str(files.key)


def run_password_service(config: Config, ready: Callable[[str], None]) -> None:
    """Run the LDAP password service until SIGTERM or SIGINT (docs/password-change.md).

    ``ready`` gets its ldaps:// URL once it listens. Changes go through the core's one rule
    path (``core/own_password.py``) over the configured directory, audited as the person's.
    """
    from bridge.core.own_password import OwnPassword
    from bridge.directory import password_service as passwd

    cert, key = password_service_tls(config)
    backend = Backend(config)
    names = passwd.BindNames(config.directory.suffix, config.naming.domains)
    service = passwd.PasswordService(
        OwnPassword(backend.services), names, passwd.tls_context(cert, key)
    )
    host, port = password_service_address(config)
    try:
        passwd.serve_forever(service, host, port, ready)
    finally:
        backend.close()


def slapd_supervisor(config: Config) -> SlapdSupervisor:
    """Return a (not yet started) watcher that restarts the managed slapd when it dies."""
    return settings.supervisor(config)


def backup_name(config: Config) -> str:
    """Return the default file name of a backup of the configured directory, made now."""
    from bridge.directory import backup as backups

    return backups.default_name(config.directory.suffix)


def backup(config: Config, out: Path) -> BackupManifest:
    """Back up the managed slapd's folder (running or not) into the archive ``out``."""
    from bridge.directory import backup as backups

    return backups.backup(managed_slapd(config), out)


def restore(config: Config, archive: Path) -> BackupManifest:
    """Restore an archive into the configured data folder, which must be empty."""
    from bridge.directory import backup as backups

    return backups.restore(archive, managed_slapd(config))


def directory_config_ldif(suffix: str, database_dn: str) -> str:
    """Return the cn=config changes an existing OpenLDAP needs to be the bridge's directory."""
    return export.config_part(suffix, database_dn)


def directory_data_ldif(config: Config, suffix: str, existing_suffix: bool) -> str:
    """Return the entries it needs: OUs, policies, the account with ``[directory] password``."""
    if not config.directory.password:
        raise ConfigError(
            "[directory] password (MIMS_LDAP_PASSWORD) is empty: choose the service account's "
            "password there first; the data LDIF gives the account that password"
        )
    policies = policy_book(config).policies
    return export.data_part(suffix, config.directory.password, policies, existing_suffix)


def audit_file(config: Config) -> AuditFile:
    """Return the configured audit trail's file (``[audit]``)."""
    return AuditFile(config.audit_file, config.audit.max_bytes, config.audit.keep)


def audit_events(config: Config, selection: Selection, ldap: bool = True) -> list[Event]:
    """Return the selected events of the audit file and, with ``ldap``, the managed slapd's log.

    The accesslog shows writes made over LDAP directly, not through the bridge (whose own
    writes are in the file already); it is read as slapd's rootDN over ldapi.
    """
    from bridge.core.audit import in_order
    from bridge.directory import accesslog

    sources: list[Iterable[Event]] = [audit_file(config).events()]
    if ldap:
        sources.append(accesslog.events(managed_slapd(config), selection.since))
    return [event for event in in_order(*sources) if selection.admits(event)]


def directory_check(config: Config) -> Iterator[DirectoryFinding]:
    """Yield what the configured directory has, lacks or has otherwise, as the bridge sees it."""
    from bridge.directory import check

    return check.check(settings.client_settings(config), policy_book(config).policies)


class Backend:
    """The directory's implementations of the core's ports, over one LDAP client."""

    def __init__(
        self, config: Config, client: LdapClient | None = None, outcomes: Outcomes | None = None
    ) -> None:
        self.config = config
        self.client = client or LdapClient(settings.client_settings(config))
        suffix = config.directory.suffix
        book = policy_book(config)
        self.people = PeopleStore(
            self.client,
            suffix,
            config.naming.domains,
            naming_rules(config),
            book,
            address_rules(config),
            posix_rules(config),
        )
        self.audit = audit_file(config)
        # Every change through these services, whichever door asked, goes to the audit trail.
        self.services = audited(
            Services(
                people=self.people,
                groups=self.people.groups,
                passwords=CredentialStore(self.client, suffix, book),
                answers=AnswerStore(self.client, suffix),
                tokens=TokenStore(self.client, suffix),
                health=self.client,
                outcomes=outcomes or NoOutcomes(),
            ),
            self.audit,
        )
        # Administrators' grants (`mims admin`), every change to them audited.
        self.grants: Grants = AuditedGrants(GrantStore(self.client, suffix), Trail(self.audit))

    def admin_console(self) -> AdminConsole:
        """Return the scoped administration service (the console, its API, ``--as``)."""
        from bridge.core.admin_console import AdminConsole

        sspr = self.config.sspr
        questions = tuple((q.id, q.text) for q in sspr.questions)[: sspr.answers_required]
        return AdminConsole(self.services, self.grants, self.audit, self.audit, questions)

    def request_desk(self) -> RequestDesk:
        """Return the desk of parents' reset requests (the portal's form, the console's queue)."""
        from bridge.core.request_desk import RequestDesk
        from bridge.directory.reset_requests import ResetRequestStore

        store = ResetRequestStore(self.client, self.config.directory.suffix)
        return RequestDesk(store, self.audit, self.config.console.request_days)

    def roster_import(self, workers: int = 4, dry_run: bool = False) -> RosterImport:
        """Return the bulk importer of roster rows."""
        from bridge.core.audited import AuditedImport
        from bridge.directory.bulk import BulkWriter
        from bridge.directory.roster_import import Importer

        bulk = BulkWriter(self.client)
        importer = Importer(self.people, bulk, workers=workers, dry_run=dry_run)
        return importer if dry_run else AuditedImport(importer, Trail(self.audit))

    def initial_import(self, on_load: LoadProgress = lambda done, total: None) -> RosterImport:
        """Return the offline first-day load of the empty managed directory (``--initial``)."""
        from bridge.core.audited import AuditedImport
        from bridge.directory.initial_load import InitialLoad

        load = InitialLoad(
            managed_slapd(self.config),
            self.people,
            self.client,
            address_rules(self.config),
            on_load,
        )
        return AuditedImport(load, Trail(self.audit))

    def group_addresses(self) -> GroupAddresses:
        """Return the backfill of groups' e-mail addresses."""
        return self.people.groups.addresses

    def gcds_people(self) -> Iterator[PersonEntry]:
        """Yield people as Google Cloud Directory Sync reads them."""
        from bridge.directory import gcds

        return gcds.people(self.client, self.config.directory.suffix)

    def gcds_groups(self) -> Iterator[GroupEntry]:
        """Yield groups as Google Cloud Directory Sync reads them."""
        from bridge.directory import gcds

        return gcds.groups(self.client, self.config.directory.suffix)

    def service_accounts(self) -> ServiceAccounts:
        """Return the accounts of programs under ou=services and their roles."""
        from bridge.directory.service_accounts import ServiceAccountStore

        return ServiceAccountStore(self.client, self.config.directory.suffix)

    def service_search_command(self, account: str, secret_file: Path | None) -> str:
        """Return an ``ldapsearch`` line with which a service account reads the directory.

        It reaches the directory as other machines do: the managed slapd's TCP listener, or
        the first configured URL, with the bridge's TLS settings.
        """
        from bridge.directory.service_accounts import search_command

        settings = self.config.directory
        secret = str(secret_file) if secret_file else None
        if settings.urls:
            ca_file = str(Path(settings.ca_file).expanduser()) if settings.ca_file else ""
            starttls = settings.tls_mode == "starttls"
            return search_command(
                settings.urls[0], account, secret, settings.suffix, starttls, ca_file
            )
        slapd = managed_slapd(self.config)
        ldaps = slapd.ldaps_url()
        url = ldaps or slapd.ldap_url() or f"ldap://127.0.0.1:{self.config.slapd.port}"
        ca = str(slapd.ca_file) if slapd.ca_file else ""
        return search_command(url, account, secret, settings.suffix, ldaps is None, ca)

    def sync_state(self, target: str) -> SyncState:
        """Return a downstream target's stored place in the feed, creating it if needed."""
        from bridge.directory.sync_state import SyncStateStore

        state = SyncStateStore(self.client, self.config.directory.suffix, target)
        state.ensure()
        return state

    def readiness(self) -> Readiness:
        """Return the checks of ``/readyz`` and ``mims doctor``: directory, enabled sync targets."""
        from bridge.core.health import Readiness
        from bridge.directory.sync_state import SyncStateStore

        suffix = self.config.directory.suffix
        targets = {
            name: SyncStateStore(self.client, suffix, name).position
            for name, target in self.config.sync.targets.items()
            if target.enabled
        }
        return Readiness(self.client, self.config.directory.operation_timeout, targets)

    def sync_status(self, target: str) -> TargetStatus:
        """Return what ``mims sync status`` shows for one target."""
        from bridge.directory.sync_state import SyncStateStore

        return SyncStateStore(self.client, self.config.directory.suffix, target).status()

    def sync_statuses(self) -> list[TargetStatus]:
        """Return every configured target's status, read from the directory (for /metrics)."""
        return [self.sync_status(name) for name in sorted(self.config.sync.targets)]

    def replication_lags(self) -> dict[str, float]:
        """Return how far each other provider is behind the write target, in seconds.

        Only with several ``[directory] urls``: each scrape reads every provider's contextCSN
        (one bind each). A provider that does not answer, or lacks a server's changes
        altogether, is left out (``mims failover status`` says which).
        """
        from bridge.core import doctor

        if len(self.config.directory.urls) < 2 or self.config.directory.managed:
            return {}
        states = failover(self.config).status()
        target = next((state for state in states if state.is_target), None)
        if target is None:
            return {}
        lags: dict[str, float] = {}
        for state in states:
            if state.is_target or not state.reachable:
                continue
            lag = doctor.replication_lag(target.context_csn, state.context_csn)
            if lag is not None:
                lags[state.url] = lag
        return lags

    def server_figures(self) -> ServerFigures | None:
        """Return slapd's own figures from cn=Monitor (None where it cannot be read)."""
        from bridge.directory import monitor

        return monitor.read(self.client)

    def certificate_files(self) -> dict[str, Path]:
        """Return the certificates this bridge serves, by use: https, ldap, password_service."""
        config = self.config
        files: dict[str, Path] = {}
        if config.http.tls_cert:
            files["https"] = Path(config.http.tls_cert).expanduser()
        if config.directory.managed:
            slapd = managed_slapd(config)
            tls = slapd.layout.tls_dir
            files["ldap"] = slapd.certificate.cert if slapd.certificate else tls / "server.pem"
            if config.password_service.port and not config.password_service.tls_cert:
                files["password_service"] = tls / "password-service.pem"
        if config.password_service.port and config.password_service.tls_cert:
            files["password_service"] = Path(config.password_service.tls_cert).expanduser()
        return files

    def change_feed(self, attributes: Iterable[str], stop: threading.Event) -> ChangeFeed:
        """Return a feed of the directory's changes carrying these attributes."""
        from bridge.directory.feed import Feed

        return Feed(self.client, attributes, stop)

    def close(self) -> None:
        """Close this thread's connections."""
        self.client.close()


def build(config: Config, client: LdapClient | None = None) -> Services:
    """Return the core services over ``client`` (default: the configured directory)."""
    return Backend(config, client).services
