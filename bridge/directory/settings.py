"""Find the directory the same way for every command: MIMS_LDAP_URL, else the managed slapd."""

from __future__ import annotations

from pathlib import Path

from bridge.config import Config
from bridge.core.posix import IdRange, PosixRules
from bridge.directory.client import ClientSettings
from bridge.directory.local_ca import TlsFiles
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.supervisor import SlapdSupervisor


def managed_slapd(config: Config) -> ManagedSlapd:
    """Return the managed slapd of the configured data folder, listeners and certificate."""
    slapd = config.slapd
    own = None
    if slapd.tls_cert:
        own = TlsFiles(
            cert=Path(slapd.tls_cert).expanduser(),
            key=Path(slapd.tls_key).expanduser(),
            ca=Path(slapd.tls_ca).expanduser() if slapd.tls_ca else None,
        )
    return ManagedSlapd(
        slapd.data_dir,
        config.directory.suffix,
        slapd.no_sync,
        listen=slapd.listen,
        certificate=own,
        posix=posix_rules(config),
    )


def posix_rules(config: Config) -> PosixRules:
    """Return the configured number ranges, home folder and login shells (``[posix]``)."""
    posix = config.posix
    return PosixRules(
        uid_numbers=IdRange(posix.uid_number_min, posix.uid_number_max, "[posix] uid_number_max"),
        gid_numbers=IdRange(posix.gid_number_min, posix.gid_number_max, "[posix] gid_number_max"),
        home_directory=posix.home_directory,
        login_shells=dict(posix.login_shells),
    )


def client_settings(config: Config) -> ClientSettings:
    """Return where the directory is: the configured URLs, or the managed slapd's socket."""
    settings = config.directory
    if not settings.managed:
        return ClientSettings(
            urls=settings.urls,
            bind_dn=settings.bind_dn,
            password=settings.password,
            suffix=settings.suffix,
            connect_timeout=settings.connect_timeout,
            operation_timeout=settings.operation_timeout,
            tls=settings.tls_mode,
            ca_file=str(Path(settings.ca_file).expanduser()) if settings.ca_file else "",
            quarantine_seconds=settings.quarantine_seconds,
            check_seconds=config.failover.check_seconds,
            automatic_after=config.failover.automatic_after,
            heartbeat_seconds=config.failover.heartbeat_seconds,
        )
    slapd = managed_slapd(config)
    return ClientSettings(
        urls=(slapd.ldapi_url,),
        bind_dn=slapd.service_dn,
        password=slapd.service_password(),
        suffix=settings.suffix,
        connect_timeout=settings.connect_timeout,
        operation_timeout=settings.operation_timeout,
        quarantine_seconds=settings.quarantine_seconds,
    )


def ensure_running(config: Config) -> bool:
    """Initialise and start the managed slapd when it is the configured directory.

    Return whether this call started it (so the caller knows to stop it again).
    """
    if not config.directory.managed:
        return False
    slapd = managed_slapd(config)
    if not slapd.is_initialised():
        slapd.init()
    if slapd.pid() is not None:
        slapd.upgrade()
        return False
    slapd.start(config.slapd.port, config.slapd.ldaps_port)
    return True


def supervisor(config: Config) -> SlapdSupervisor:
    """Return a (not yet started) supervisor of the managed slapd on the configured ports."""
    return SlapdSupervisor(managed_slapd(config), config.slapd.port, config.slapd.ldaps_port)
