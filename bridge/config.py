"""Configuration: defaults from ``config/default.toml``, then a file of yours, then ``MIMS_*``.

Everything is validated once, here, into frozen dataclasses; a bad value is reported with its
key (or environment variable) and what is allowed, and nothing else in the bridge re-checks it.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import field, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from bridge.errors import ConfigError

# config/default.toml, read as package data: bridge/resources/config links to the top-level
# folder in a checkout, and the wheel carries a copy, so an installed bridge finds it too.
DEFAULT_CONFIG_PATH: Traversable = (
    importlib.resources.files("bridge") / "resources" / "config" / "default.toml"
)

Role = Literal["student", "staff", "hq"]
ROLES: tuple[Role, ...] = ("student", "staff", "hq")

_STRICT = ConfigDict(extra="forbid", frozen=True)
_DN = re.compile(r"^[A-Za-z][A-Za-z0-9-]*=[^,=+]+(,[A-Za-z][A-Za-z0-9-]*=[^,=+]+)*$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LDAP_URL = re.compile(r"^ldap[si]?://\S*$")
_HOST = re.compile(r"^(\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")


@dataclass(config=_STRICT)
class DirectoryConfig:
    """Which directory to use; no URLs means the managed slapd in the data folder."""

    urls: tuple[str, ...] = ()
    bind_dn: str = ""
    password: str = field(default="", repr=False)
    suffix: str = "dc=mims,dc=example"
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    operation_timeout: float = Field(default=10.0, gt=0, le=3600)
    # How a failed server is set aside (tried after the others) before it is tried first again.
    quarantine_seconds: float = Field(default=30.0, ge=0, le=3600)
    # "" lets each URL decide (ldaps:// is TLS; an ldap:// URL is refused), "starttls", "ldaps",
    # or "off" (plain LDAP over TCP accepted, with a warning at every start).
    tls: Literal["", "ldaps", "starttls", "off"] = ""
    starttls: bool = False  # the same as tls = "starttls"
    ca_file: str = ""  # CA certificates (PEM) that sign the servers' certificates; "": system's

    @model_validator(mode="after")
    def _check(self) -> DirectoryConfig:
        for url in self.urls:
            if not _LDAP_URL.match(url):
                raise ValueError(f"urls: {url!r} is not an ldap://, ldaps:// or ldapi:// URL")
        if self.starttls and self.tls not in ("", "starttls"):
            raise ValueError(f"starttls: true contradicts tls = {self.tls!r}")
        plain = [url for url in self.urls if url.lower().startswith("ldap://")]
        if self.tls_mode == "ldaps" and plain:
            raise ValueError(f"tls: 'ldaps' but {plain[0]!r} is not an ldaps:// URL")
        if self.tls_mode == "" and plain:
            raise ValueError(
                f"urls: {plain[0]!r} would send the bridge's password in clear text: use "
                'ldaps://, or starttls = true, or write tls = "off" to accept plain LDAP'
            )
        if self.ca_file and not Path(self.ca_file).expanduser().is_file():
            raise ValueError(f"ca_file: {self.ca_file!r} is not a file")
        if not _DN.match(self.suffix) or self.suffix.split("=")[0].lower() not in ("dc", "o"):
            raise ValueError(f"suffix: {self.suffix!r} is not a DN such as 'dc=mims,dc=example'")
        if self.urls and not self.bind_dn:
            raise ValueError("bind_dn: required when urls (MIMS_LDAP_URL) are set")
        if self.bind_dn and not _DN.match(self.bind_dn):
            raise ValueError(f"bind_dn: {self.bind_dn!r} is not a DN")
        return self

    @property
    def managed(self) -> bool:
        """Return whether the bridge runs its own slapd instead of an external directory."""
        return not self.urls

    @property
    def cleartext_urls(self) -> tuple[str, ...]:
        """Return the TCP URLs that carry passwords without TLS (only with ``tls = "off"``)."""
        if self.tls_mode != "off":
            return ()
        return tuple(url for url in self.urls if not url.lower().startswith("ldapi://"))

    @property
    def tls_mode(self) -> Literal["", "ldaps", "starttls", "off"]:
        """Return ``tls`` with the ``starttls`` shorthand applied."""
        return "starttls" if self.starttls else self.tls


@dataclass(config=_STRICT)
class FailoverConfig:
    """With several URLs: when a bridge promotes another provider itself, how often it looks.

    ``automatic_after`` 0 leaves promotions to ``mims failover promote`` (high-availability.md).
    """

    automatic_after: float = Field(default=0.0, ge=0, le=86400)
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=3600)
    check_seconds: float = Field(default=2.0, gt=0, le=3600)


@dataclass(config=_STRICT)
class SlapdConfig:
    """The managed slapd: where it keeps its data and where it listens."""

    data_dir: Path = Path()
    port: int = Field(default=1389, ge=1, le=65535)  # ldap:// (StartTLS) on every listen address
    ldaps_port: int = Field(default=1636, ge=1, le=65535)
    # Addresses (or host names) slapd listens on; 0.0.0.0 or :: for every address.
    listen: tuple[str, ...] = ("127.0.0.1",)
    # A certificate of your own (PEM, chain after it), its unencrypted key and the CA that
    # signed it; empty: the data folder's own CA (tls/ca.pem) signs one.
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    no_sync: bool = False

    @model_validator(mode="after")
    def _check(self) -> SlapdConfig:
        if self.ldaps_port == self.port:
            raise ValueError(f"ldaps_port: {self.ldaps_port} is also the ldap:// port")
        if not self.listen:
            raise ValueError("listen: give at least one address, such as '127.0.0.1'")
        for host in self.listen:
            if not _HOST.match(host):
                raise ValueError(f"listen: {host!r} is not an IP address or host name")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert, tls_key: give both (your certificate) or neither")
        if self.tls_ca and not self.tls_cert:
            raise ValueError("tls_ca: give it with tls_cert and tls_key")
        return self


@dataclass(config=_STRICT)
class HttpConfig:
    """Where ``mims serve`` listens and how many workers it runs."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    threads: int = Field(default=4, ge=1, le=64)
    # HTTPS: a PEM certificate (chain, leaf first) and its unencrypted PEM key; both or neither.
    tls_cert: str = ""
    tls_key: str = ""
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks).
    trusted_proxies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> HttpConfig:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert, tls_key: give both (HTTPS) or neither (plain HTTP)")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network "
                    "such as '10.0.0.5' or '10.0.0.0/24'"
                ) from None
        return self

    @property
    def https(self) -> bool:
        """Return whether ``mims serve`` terminates TLS itself."""
        return bool(self.tls_cert)

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Return ``trusted_proxies`` as networks."""
        return tuple(ipaddress.ip_network(proxy) for proxy in self.trusted_proxies)


@dataclass(config=_STRICT)
class NamingConfig:
    """How login IDs are made from names (see bridge.core.naming)."""

    domains: dict[Role, str]
    connector_words: tuple[str, ...] = ()
    max_local_length: int = Field(default=64, ge=8, le=64)
    # Groups' e-mail addresses (see bridge.core.group_address).
    group_domain: str = "groups.schools.gov.sg"

    @model_validator(mode="after")
    def _check(self) -> NamingConfig:
        missing = [role for role in ROLES if role not in self.domains]
        if missing:
            raise ValueError(f"domains: a domain is needed for {', '.join(missing)}")
        for role, domain in self.domains.items():
            if not _DOMAIN.match(domain):
                raise ValueError(f"domains.{role}: {domain!r} is not a lowercase DNS domain")
        if not _DOMAIN.match(self.group_domain):
            raise ValueError(f"group_domain: {self.group_domain!r} is not a lowercase DNS domain")
        if self.group_domain in self.domains.values():
            # The people allocator steps over taken login IDs, not over groups' addresses.
            raise ValueError(
                f"group_domain: {self.group_domain!r} is also a login-ID domain; give groups "
                "a domain of their own so a group's address never takes a person's login ID"
            )
        return self


@dataclass(config=_STRICT)
class PasswordPolicyConfig:
    """One named password policy; the seeds' two are ``mims`` and ``icon``."""

    min_length: int = Field(ge=1, le=256)
    max_length: int = Field(default=128, ge=1, le=256)
    min_digits: int = Field(default=0, ge=0)
    min_lowercase: int = Field(default=0, ge=0)
    min_uppercase: int = Field(default=0, ge=0)
    min_letters: int = Field(default=0, ge=0)
    forbid_name_parts: bool = True
    forbid_login_id: bool = True
    history: int = Field(default=0, ge=0, le=1000)
    max_failures: int = Field(default=5, ge=0, le=1000)
    lockout_seconds: int = Field(default=900, ge=0)
    refuse_common: bool = True
    failure_window_seconds: int = Field(default=0, ge=0)
    # zxcvbn's score a new password needs, 0 to 4 (0: not checked); see bridge/core/strength.py.
    min_strength: int = Field(default=3, ge=0, le=4)

    @model_validator(mode="after")
    def _check(self) -> PasswordPolicyConfig:
        if self.max_length < self.min_length:
            raise ValueError("max_length: must be at least min_length")
        return self


@dataclass(config=_STRICT)
class PolicyRule:
    """Give ``policy`` to everyone matching all of the keys this rule names."""

    policy: str
    role: Role | None = None
    school: str | None = None
    level: str | None = None


@dataclass(config=_STRICT)
class PasswordsConfig:
    """Which policy applies to whom."""

    default_policy: str = "mims"
    rules: tuple[PolicyRule, ...] = ()


@dataclass(config=_STRICT)
class Question:
    """A challenge question from the catalogue."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    text: str = Field(min_length=3, max_length=200)


@dataclass(config=_STRICT)
class SsprConfig:
    """Self-service password reset: the question catalogue and attempt limits."""

    questions: tuple[Question, ...]
    answers_required: int = Field(default=3, ge=1, le=10)
    max_failed_attempts: int = Field(default=5, ge=1, le=100)
    # How long self-service reset stays closed after that; 0: until the school reopens it.
    lockout_minutes: int = Field(default=15, ge=0, le=7 * 24 * 60)
    # Signs portal sessions, reset tickets and tokens. Empty: managed mode keeps one in the
    # data folder (portal.secret); with an external directory the bridge refuses to start.
    secret_key: str = field(default="", repr=False)
    portal_url: str = "http://127.0.0.1:8080/sspr/"
    ticket_minutes: int = Field(default=15, ge=1, le=120)
    token_minutes: int = Field(default=10, ge=1, le=60)
    # A portal session ends after this long however it is used (absolute lifetime) ...
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # ... or after this long unused (idle timeout).
    session_idle_minutes: int = Field(default=10, ge=1, le=24 * 60)
    rate_limit: str = "20 per minute"
    address_failures: str = "100 per hour"
    cookie_secure: bool = True

    @model_validator(mode="after")
    def _check(self) -> SsprConfig:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: each question needs its own id")
        if not _safe_portal_url(self.portal_url):
            raise ValueError(
                f"portal_url: {self.portal_url!r} must be an https:// URL "
                "(http:// only on a loopback address such as 127.0.0.1)"
            )
        if self.session_idle_minutes > self.session_minutes:
            raise ValueError(
                f"session_idle_minutes: {self.session_idle_minutes} is longer than"
                f" session_minutes ({self.session_minutes}), a session's whole life"
            )
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError("secret_key: use at least 32 characters (or leave it empty)")
        if len(ids) < self.answers_required:
            raise ValueError(
                f"questions: {self.answers_required} answers are required "
                f"but only {len(ids)} questions are configured"
            )
        return self


def is_loopback(host: str) -> bool:
    """Return whether a host name or address is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _safe_portal_url(url: str) -> bool:
    """Accept https:// URLs, and http:// ones only to loopback: cards carry passwords' way in."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))


# Our directory attributes that go to each SCIM attribute unless a target says otherwise.
# Keys are SCIM paths: "name.givenName", "emails.work" (the work address), "enterprise.X"
# (the enterprise extension's X). ``active`` is always "not mimsDisabled".
DEFAULT_SYNC_MAPPING: dict[str, str] = {
    "userName": "mail",
    "externalId": "entryUUID",
    "name.formatted": "cn",
    "name.givenName": "givenName",
    "name.familyName": "sn",
    "displayName": "displayName",
    "emails.work": "mail",
    "enterprise.employeeNumber": "employeeNumber",
    "title": "title",
    # What SCIM clients sent: ou and o are the class or department and the schools for LDAP
    # consumers (docs/directory-schema.md).
    "enterprise.department": "mimsDepartment",
    "enterprise.organization": "mimsOrganization",
}
_SCIM_PATH = re.compile(r"^(name|emails|enterprise)\.[A-Za-z]+$|^[A-Za-z][A-Za-z0-9]*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRET_ATTRIBUTES = {"userpassword", "mimschallengeanswer", "mimstokenhash", "pwdhistory"}


@dataclass(config=_STRICT)
class SyncTargetConfig:
    """One downstream target: where it is, how to authenticate, what to send and how fast.

    Secrets are never in the file: ``token_env`` and ``client_secret_env`` name environment
    variables that hold them.
    """

    kind: Literal["scim", "entra"] = "scim"
    url: str = ""
    enabled: bool = True
    auth: Literal["bearer", "oauth"] = "bearer"
    token_env: str = ""
    token_url: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    scope: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    delete: bool = False
    groups: bool = True
    rate: float = Field(default=50.0, gt=0, le=10_000)
    timeout: float = Field(default=10.0, gt=0, le=300)
    batch_size: int = Field(default=50, ge=1, le=50)

    @model_validator(mode="after")
    def _check(self) -> SyncTargetConfig:
        if not re.match(r"^https?://\S+$", self.url):
            raise ValueError(f"url: {self.url!r} is not an http:// or https:// URL")
        if self.auth == "bearer" and not self.token_env:
            raise ValueError("token_env: name the environment variable that holds the token")
        if self.auth == "oauth":
            if not re.match(r"^https?://\S+$", self.token_url):
                raise ValueError("token_url: OAuth client credentials need the token URL")
            if not self.client_id or not self.client_secret_env:
                raise ValueError("client_id and client_secret_env: both are needed for oauth")
        for name in (self.token_env, self.client_secret_env):
            if name and not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)")
        for path, attribute in self.mapping.items():
            if not _SCIM_PATH.match(path):
                raise ValueError(f"mapping: {path!r} is not a SCIM attribute path we can send")
            if not _ATTRIBUTE.match(attribute) or attribute.lower() in _SECRET_ATTRIBUTES:
                raise ValueError(f"mapping.{path}: {attribute!r} is not an attribute we send")
        return self

    @property
    def attributes(self) -> dict[str, str]:
        """Return the mapping to use: the defaults with this target's entries laid over."""
        return {**DEFAULT_SYNC_MAPPING, **self.mapping}


@dataclass(config=_STRICT)
class SyncConfig:
    """Downstream targets by name (none by default)."""

    targets: dict[str, SyncTargetConfig] = field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SyncConfig:
        for name in self.targets:
            if not re.match(r"^[a-z0-9][a-z0-9_-]{0,62}$", name):
                raise ValueError(f"targets: {name!r} is not a name (a-z, 0-9, _ and -)")
        return self


@dataclass(config=_STRICT)
class ScimConfig:
    """How the SCIM front door names people.

    ``usernames = "login-id"``: a User's userName is their login ID, and a userName that is
    not one is refused. ``"client"``: a userName that is not a MIMS login ID is kept as the
    client gave it (unique without regard to case) and the person still gets a login ID and
    mail from their name; userName filters, sorting and renames then use the client's name.
    """

    usernames: Literal["login-id", "client"] = "login-id"
    # The largest request body any SCIM endpoint takes, published as Bulk maxPayloadSize.
    max_payload_bytes: int = Field(default=1_048_576, ge=4096, le=64 * 1_048_576)


# uidNumber and gidNumber are 32-bit; above 2^31 - 1 some programs read them as negative.
_LARGEST_ID = 2**31 - 1
_SHELL = re.compile(r"^/[^\s]*$")


@dataclass(config=_STRICT)
class PosixConfig:
    """People as Unix accounts: number ranges, home folder and login shell by role.

    People take uidNumbers from ``uid_number_min``-``uid_number_max`` (gidNumber = uidNumber,
    a user private group); groups take gidNumbers from their own range, which must not overlap
    people's, so no private group ever shares a number with a real group.
    """

    uid_number_min: int = Field(default=100_000, ge=1000, le=_LARGEST_ID)
    uid_number_max: int = Field(default=4_999_999, ge=1000, le=_LARGEST_ID)
    gid_number_min: int = Field(default=5_000_000, ge=1000, le=_LARGEST_ID)
    gid_number_max: int = Field(default=5_999_999, ge=1000, le=_LARGEST_ID)
    # {uid} is the person's uid (the login ID's local part).
    home_directory: str = "/home/{uid}"
    login_shells: dict[Role, str] = field(default_factory=lambda: dict.fromkeys(ROLES, "/bin/bash"))

    @model_validator(mode="after")
    def _check(self) -> PosixConfig:
        for kind in ("uid", "gid"):
            low, high = getattr(self, f"{kind}_number_min"), getattr(self, f"{kind}_number_max")
            if low >= high:
                raise ValueError(
                    f"{kind}_number_min ({low}) must be below {kind}_number_max ({high})"
                )
        if not (
            self.uid_number_max < self.gid_number_min or self.gid_number_max < self.uid_number_min
        ):
            raise ValueError(
                f"uid_number_min-uid_number_max ({self.uid_number_min}-{self.uid_number_max}) "
                f"overlaps gid_number_min-gid_number_max ({self.gid_number_min}-"
                f"{self.gid_number_max}): a person's private group would share a group's number"
            )
        if not self.home_directory.startswith("/") or "{uid}" not in self.home_directory:
            raise ValueError(
                f"home_directory: {self.home_directory!r} must be an absolute path with {{uid}}"
            )
        for role, shell in self.login_shells.items():
            if not _SHELL.match(shell):
                raise ValueError(f"login_shells.{role}: {shell!r} is not an absolute path")
        return self


@dataclass(config=_STRICT)
class AuditConfig:
    """The audit trail's file: where (empty: DATA/audit.log), and its rotation by size."""

    file: str = ""
    # Rotate past this size (0: never; rotate with logrotate instead), keeping this many files.
    max_bytes: int = Field(default=10 * 1_048_576, ge=0)
    keep: int = Field(default=10, ge=0, le=1000)


@dataclass(config=_STRICT)
class PasswordServiceConfig:
    """The LDAP password-change service (ldaps only) that SSSD and ``ldappasswd`` reach."""

    # 0: off. Not slapd's port: this is the bridge's own small server.
    port: int = Field(default=1637, ge=0, le=65535)
    # Empty: the address [http] listens on.
    host: str = ""
    # A PEM certificate (chain, leaf first) and its unencrypted PEM key; both or neither.
    # Neither: the data folder's own CA signs one (DATA/tls/password-service.pem).
    tls_cert: str = ""
    tls_key: str = ""

    @model_validator(mode="after")
    def _check(self) -> PasswordServiceConfig:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert, tls_key: give both, or neither (the local CA signs one)")
        return self


@dataclass(config=_STRICT)
class ConsoleConfig:
    """The administrators' console: how long parents' reset requests wait, how often they come."""

    # A request nobody acted on expires after this many days (docs/console.md).
    request_days: int = Field(default=14, ge=1, le=365)
    # Parents' requests from one client address (flask-limiter syntax), beside [sspr] rate_limit.
    request_rate_limit: str = "5 per hour"


@dataclass(config=_STRICT)
class Config:
    """The whole configuration of a bridge process."""

    directory: DirectoryConfig
    slapd: SlapdConfig
    http: HttpConfig
    naming: NamingConfig
    policies: dict[str, PasswordPolicyConfig]
    passwords: PasswordsConfig
    sspr: SsprConfig
    sync: SyncConfig = field(default_factory=SyncConfig)
    scim: ScimConfig = field(default_factory=ScimConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    password_service: PasswordServiceConfig = field(default_factory=PasswordServiceConfig)
    posix: PosixConfig = field(default_factory=PosixConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    failover: FailoverConfig = field(default_factory=FailoverConfig)

    @model_validator(mode="after")
    def _check(self) -> Config:
        known = sorted(self.policies)
        wanted = [("passwords.default_policy", self.passwords.default_policy)]
        wanted += [
            (f"passwords.rules[{i}].policy", r.policy) for i, r in enumerate(self.passwords.rules)
        ]
        for key, name in wanted:
            if name not in self.policies:
                raise ValueError(f"{key}: unknown policy {name!r}; configured: {', '.join(known)}")
        return self

    @property
    def audit_file(self) -> Path:
        """Return the audit trail's file: ``[audit] file``, or audit.log in the data folder."""
        if self.audit.file:
            return Path(self.audit.file).expanduser()
        return self.slapd.data_dir / "audit.log"

    def with_overrides(self, **sections: Mapping[str, Any]) -> Config:
        """Return a copy with some keys of some sections replaced (for command-line flags)."""
        changed = {
            name: replace(getattr(self, name), **{k: v for k, v in values.items() if v is not None})
            for name, values in sections.items()
        }
        return _validate(_as_dict(replace(self, **changed)), {})


# Environment variables and the keys they set; a whitespace-separated value becomes a list.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "MIMS_LDAP_URL": ("directory", "urls"),
    "MIMS_LDAP_BIND_DN": ("directory", "bind_dn"),
    "MIMS_LDAP_PASSWORD": ("directory", "password"),
    "MIMS_LDAP_SUFFIX": ("directory", "suffix"),
    "MIMS_DATA_DIR": ("slapd", "data_dir"),
    "MIMS_LDAP_PORT": ("slapd", "port"),
    "MIMS_LDAPS_PORT": ("slapd", "ldaps_port"),
    "MIMS_HTTP_HOST": ("http", "host"),
    "MIMS_HTTP_PORT": ("http", "port"),
    "MIMS_HTTP_WORKERS": ("http", "workers"),
    "MIMS_PASSWORD_PORT": ("password_service", "port"),
    "MIMS_SECRET_KEY": ("sspr", "secret_key"),
}


def default_data_dir(env: Mapping[str, str]) -> Path:
    """Return the per-user data folder (XDG base directory specification)."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "mims-bridge"


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Load the defaults, then ``path`` (or ``MIMS_CONFIG``), then ``MIMS_*`` variables."""
    env = os.environ if env is None else env
    data = _read_toml(DEFAULT_CONFIG_PATH)
    override = path or env.get("MIMS_CONFIG")
    if override:
        _merge(data, _read_toml(Path(override)))
    from_env: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENVIRONMENT.items():
        value = env.get(variable)
        if value is None or value == "":
            continue
        data.setdefault(section, {})[key] = value.split() if key == "urls" else value
        from_env[(section, key)] = variable
    slapd = data.setdefault("slapd", {})
    if not slapd.get("data_dir"):
        slapd["data_dir"] = str(default_data_dir(env))
    return _validate(data, from_env)


def _read_toml(path: Traversable) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> None:
    """Merge ``override`` into ``base``: tables merge key by key, everything else replaces."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


_ADAPTER: TypeAdapter[Config] = TypeAdapter(Config)


def _validate(data: Mapping[str, Any], from_env: Mapping[tuple[str, str], str]) -> Config:
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], data, from_env)) from None


def _describe(error: Any, data: Mapping[str, Any], from_env: Mapping[tuple[str, str], str]) -> str:
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    key = ".".join(loc)
    if len(loc) >= 2 and (loc[0], loc[1]) in from_env:
        key = from_env[(loc[0], loc[1])]
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = _allowed_keys(loc[:-1])
        return f"config: unknown key {key!r}" + (
            f"; allowed: {', '.join(allowed)}" if allowed else ""
        )
    if error["type"] == "value_error":
        return f"config: {key}.{message}" if key else f"config: {message}"
    if error["type"] == "missing" or "input" not in error:
        return f"config: {key}: {message}"
    shown = "<hidden>" if loc and loc[-1] in ("password", "secret_key") else repr(error["input"])
    return f"config: {key}: {message} (got {shown})"


def _allowed_keys(path: list[str]) -> list[str]:
    """Return the keys a section of the configuration takes, for an 'unknown key' message."""
    section: Any = Config
    for part in path:
        fields = getattr(section, "__dataclass_fields__", {})
        if part not in fields:
            return []
        section = typing.get_type_hints(section).get(part)
    return sorted(getattr(section, "__dataclass_fields__", {}))


def _as_dict(config: Any) -> Any:
    """Turn a validated config back into plain data, for re-validation after overrides."""
    return _ADAPTER.dump_python(config, mode="python")
