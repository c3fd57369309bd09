"""The managed slapd's cn=config and base tree, written from code (never hand-edited files).

Read top to bottom this is the whole server set-up: modules, schemas, the mdb database with its
indexes, access rules and overlays, then the entries every MIMS directory starts with.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from ldap3.utils.conv import escape_filter_chars

from bridge.core import posix
from bridge.core.administration import AllSchools
from bridge.core.service_accounts import BRIDGE_ACCOUNT, ROLES, ServiceRole
from bridge.directory import dn, grants, id_numbers, ldif, mapping

MODULE_PATH = "/usr/lib/ldap"
SYSTEM_SCHEMA_DIR = Path("/etc/ldap/schema")
# schemas/mims.ldif, as package data (bridge/resources/schemas links to the top-level folder).
PROJECT_SCHEMA: Traversable = (
    importlib.resources.files("bridge") / "resources" / "schemas" / "mims.ldif"
)
MODULES = (
    "back_mdb",
    "ppolicy",
    "memberof",
    "refint",
    "unique",
    "sssvlv",
    "syncprov",
    "deref",
    "argon2",
    "accesslog",
)
# nis: posixAccount and shadowAccount (uidNumber, homeDirectory, shadowExpire) for SSSD and
# nslcd, which see only posix accounts; gidNumber on groups.
SYSTEM_SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
# The {ARGON2} module's cost for new hashes: OWASP's minimum for Argon2id (19 MiB, 2 passes, 1
# lane). The module's own defaults are older and lower (4 MiB); Debian 12's build makes Argon2i
# hashes, later OpenLDAP releases Argon2id, both with these parameters.
ARGON2_PARAMETERS = "m=19456 t=2 p=1"

SERVICE_NAME = BRIDGE_ACCOUNT
# The account replicas bind as (replication.py); upgrades keep its access rules first.
REPLICATION_ACCOUNT = "replicator"
# The suffix entry's auxiliary class: it carries the schema version (mimsSchemaVersion).
DIRECTORY_CLASS = "mimsDirectory"

# The length of the keys slapd's `sub` indexes hold for the middle of a value
# (olcIndexSubstrAnyLen; slapd's default is 4). A substring shorter than this cannot be looked
# up in the index, so slapd tests every entry of the search's scope instead: the console's
# search by part of a name ("mei", "tan", "lim") was a scan of the whole directory. With 3,
# fragments of 3 letters and more are answered from the index; the keys of a value grow by one.
# Changing it makes the existing keys useless, so the upgrade rebuilds the `sub` indexes.
SUBSTRING_KEY_LENGTH = 3

# DESIGN.md's index list; `sub` only where SCIM filters (co/sw/ew) or the console's search by
# part of a name (cn, displayName, mail) use substrings on that attribute.
INDEXES = (
    "objectClass eq",
    "entryUUID eq",
    "entryCSN eq",
    "uid eq,sub",
    "uidNumber eq",
    "mail eq,sub",
    "employeeNumber eq",
    "mimsExternalId eq",
    "mimsUserName eq,sub",
    "mimsSchool eq",
    "o eq",  # every school of a person: searches by school find a teacher in each
    "mimsLevel eq",
    "mimsClass eq",
    "memberOf eq",
    "member eq",
    "gidNumber eq",
    "mimsPosixName eq,sub",
    "cn eq,sub",
    "displayName eq,sub",
    "givenName eq,sub",
    "sn eq,sub",
)


def module_load(name: str) -> str:
    """Return a module's olcModuleLoad value: its file, and the argon2 module's cost."""
    return f"{name}.la {ARGON2_PARAMETERS}" if name == "argon2" else f"{name}.la"


def schema_version() -> int:
    """Return the version that ``schemas/mims.ldif`` declares in its header."""
    match = re.search(r"^# mims-schema-version: (\d+)$", PROJECT_SCHEMA.read_text(), re.M)
    if match is None:  # pragma: no cover - the shipped file always has it
        raise RuntimeError(f"{PROJECT_SCHEMA} does not declare its mims-schema-version")
    return int(match.group(1))


@dataclass(frozen=True)
class Layout:
    """Where a managed slapd keeps everything inside its data folder."""

    root: Path

    @property
    def config_dir(self) -> Path:
        """Return the cn=config folder (slapd -F)."""
        return self.root / "slapd.d"

    @property
    def db_dir(self) -> Path:
        """Return the mdb database folder."""
        return self.root / "db"

    @property
    def socket(self) -> Path:
        """Return the ldapi socket path."""
        return self.root / "ldapi"

    @property
    def pid_file(self) -> Path:
        """Return the file slapd writes its PID to."""
        return self.root / "slapd.pid"

    @property
    def log_file(self) -> Path:
        """Return the file slapd's own messages go to."""
        return self.root / "slapd.log"

    @property
    def marker(self) -> Path:
        """Return the file that records what made this folder (schema version, suffix)."""
        return self.root / "mims-directory.json"

    @property
    def service_secret(self) -> Path:
        """Return the file with the bridge service account's password (mode 0600)."""
        return self.root / "service.secret"

    @property
    def accesslog_dir(self) -> Path:
        """Return the accesslog database's folder (writes made over LDAP, for `mims audit`)."""
        return self.root / "accesslog"

    @property
    def tls_dir(self) -> Path:
        """Return the folder of the local CA and the server certificate it signs."""
        return self.root / "tls"


# The least strength (SSF) of a connection on which slapd accepts a simple bind: TLS (128 and
# more) and ldapi (71) pass, plain TCP (0) is answered "confidentiality required".
SIMPLE_BIND_SSF = 64
TLS_ATTRIBUTES = (
    "olcTLSCertificateFile",
    "olcTLSCertificateKeyFile",
    "olcTLSCACertificateFile",
    "olcTLSProtocolMin",
    "olcSecurity",
)


def tls_settings(cert: Path, key: Path, ca: Path | None) -> dict[str, str]:
    """Return cn=config's TLS attributes (``TLS_ATTRIBUTES``); an absent one is removed.

    They depend on the configuration (a bring-your-own certificate), not only on the data
    folder, so init writes them and every start writes them again when they differ.
    """
    settings = {
        "olcTLSCertificateFile": str(cert),
        "olcTLSCertificateKeyFile": str(key),
        "olcTLSProtocolMin": "3.3",  # TLS 1.2
        "olcSecurity": f"simple_bind={SIMPLE_BIND_SSF}",
    }
    if ca is not None:
        settings["olcTLSCACertificateFile"] = str(ca)
    return settings


def peercred_dn(uid: int, gid: int) -> str:
    """Return the identity slapd gives a local process that binds with SASL EXTERNAL over ldapi."""
    return f"gidNumber={gid}+uidNumber={uid},cn=peercred,cn=external,cn=auth"


def service_dn(suffix: str) -> str:
    """Return the bridge's service account DN (not the rootDN: ppolicy applies to it)."""
    return f"cn={SERVICE_NAME},ou=services,{suffix}"


def default_policy_dn(suffix: str) -> str:
    """Return the ppolicy entry used for accounts that name no policy (service accounts)."""
    return f"cn=default,ou=policies,{suffix}"


def config_ldif(
    layout: Layout, suffix: str, admin_dn: str, no_sync: bool, tls: dict[str, str] | None = None
) -> str:
    """Return the cn=config LDIF for slapadd -n0, with ``tls_settings`` when given."""
    records: list[ldif.Entry] = [
        (
            "cn=config",
            [
                ("objectClass", "olcGlobal"),
                ("cn", "config"),
                ("olcPidFile", str(layout.pid_file)),
                ("olcArgsFile", str(layout.root / "slapd.args")),
                ("olcLogLevel", "none"),
                ("olcToolThreads", "2"),
                ("olcIndexSubstrAnyLen", str(SUBSTRING_KEY_LENGTH)),
                ("olcDisallows", "bind_anon"),
                *(tls or {}).items(),
            ],
        ),
        (
            "cn=module{0},cn=config",
            [("objectClass", "olcModuleList"), ("cn", "module{0}"), ("olcModulePath", MODULE_PATH)]
            + [("olcModuleLoad", module_load(name)) for name in MODULES],
        ),
        ("cn=schema,cn=config", [("objectClass", "olcSchemaConfig"), ("cn", "schema")]),
    ]
    text = ldif.entries(records)
    for name in SYSTEM_SCHEMAS:
        text += "\n" + (SYSTEM_SCHEMA_DIR / f"{name}.ldif").read_text()
    text += "\n" + PROJECT_SCHEMA.read_text()
    text += "\n" + ldif.entries(_databases(layout, suffix, admin_dn, no_sync))
    return text


# Both mdb databases write through a writable memory map: without it LMDB copies every page a
# write touches and pwrite()s it at commit, and slapd's CPU per add grew with the directory
# (measured: 20,000 adds by ldapadd, slapd CPU 43 s without, 13 s with; docs/decisions.md).
ENV_FLAGS = ("writemap",)


def _databases(layout: Layout, suffix: str, admin_dn: str, no_sync: bool) -> list[ldif.Entry]:
    database = "olcDatabase={1}mdb,cn=config"
    mdb: list[tuple[str, str | bytes]] = [
        ("objectClass", "olcDatabaseConfig"),
        ("objectClass", "olcMdbConfig"),
        ("olcDatabase", "{1}mdb"),
        ("olcSuffix", suffix),
        ("olcRootDN", admin_dn),
        ("olcDbDirectory", str(layout.db_dir)),
        # A sparse memory map: room for millions of people; disk is only used as it fills.
        ("olcDbMaxSize", str(16 * 1024**3)),
        ("olcDbNoSync", "TRUE" if no_sync else "FALSE"),
        *[("olcDbEnvFlags", flag) for flag in ENV_FLAGS],
        ("olcLastMod", "TRUE"),
    ]
    mdb += [("olcDbIndex", index) for index in INDEXES]
    mdb += [("olcAccess", rule) for rule in access_rules(suffix)]
    mdb += [("olcLimits", rule) for rule in limits(suffix)]
    stacked = overlays(suffix)
    return [
        (
            "olcDatabase={-1}frontend,cn=config",
            [
                ("objectClass", "olcDatabaseConfig"),
                ("objectClass", "olcFrontendConfig"),
                ("olcDatabase", "{-1}frontend"),
                *frontend_settings(),
                ("olcSizeLimit", "500"),
                ("olcAccess", '{0}to dn.base="" by * read'),
                ("olcAccess", '{1}to dn.base="cn=subschema" by * read'),
            ],
        ),
        (
            "olcDatabase={0}config,cn=config",
            [
                ("objectClass", "olcDatabaseConfig"),
                ("olcDatabase", "{0}config"),
                ("olcRootDN", admin_dn),
            ],
        ),
        (database, mdb),
        *[
            (f"olcOverlay={{{i}}}{name},{database}", [("olcOverlay", f"{{{i}}}{name}"), *attrs])
            for i, (name, attrs) in enumerate(stacked)
        ],
        *accesslog_database(layout, admin_dn, no_sync),
        monitor_database(suffix, admin_dn),
    ]


ACCESSLOG_SUFFIX = "cn=accesslog"
ACCESSLOG_DATABASE = "olcDatabase={2}mdb,cn=config"
ACCESSLOG_INDEXES = ("objectClass eq", "reqStart eq", "reqEntryUUID eq", "reqResult eq")


def accesslog_database(layout: Layout, admin_dn: str, no_sync: bool) -> list[ldif.Entry]:
    """Return the accesslog database (``cn=accesslog``) and its syncprov overlay.

    The accesslog overlay on the people's database logs every write there, by anyone, with
    its values; so only the rootDN (the data folder's owner over ldapi, as `mims audit`)
    reads it. Its syncprov (no present phase, reload hint) is what delta-syncrepl consumers
    would need; replicas use plain syncrepl (replication.py), so none reads it now.
    """
    settings: list[tuple[str, str | bytes]] = [
        ("objectClass", "olcDatabaseConfig"),
        ("objectClass", "olcMdbConfig"),
        ("olcDatabase", "{2}mdb"),
        ("olcSuffix", ACCESSLOG_SUFFIX),
        ("olcRootDN", admin_dn),
        ("olcDbDirectory", str(layout.accesslog_dir)),
        ("olcDbMaxSize", str(16 * 1024**3)),
        ("olcDbNoSync", "TRUE" if no_sync else "FALSE"),
        *[("olcDbEnvFlags", flag) for flag in ENV_FLAGS],
        ("olcAccess", "{0}to * by * none"),
        *[("olcDbIndex", index) for index in ACCESSLOG_INDEXES],
    ]
    overlay = [
        ("objectClass", "olcOverlayConfig"),
        ("objectClass", "olcSyncProvConfig"),
        ("olcOverlay", "{0}syncprov"),
        ("olcSpNoPresent", "TRUE"),
        ("olcSpReloadHint", "TRUE"),
    ]
    return [
        (ACCESSLOG_DATABASE, settings),
        (f"olcOverlay={{0}}syncprov,{ACCESSLOG_DATABASE}", overlay),
    ]


MONITOR_SUFFIX = "cn=Monitor"
MONITOR_DATABASE = "olcDatabase={3}monitor,cn=config"


def monitor_database(suffix: str, admin_dn: str) -> ldif.Entry:
    """Return slapd's monitor backend (``cn=Monitor``), readable by the bridge's account only.

    /metrics reads slapd's own figures there (connections, operations, waiters: version 12).
    """
    reader = f'"{MONITOR_SUFFIX}" by dn.exact="{service_dn(suffix)}"'
    return (
        MONITOR_DATABASE,
        [
            ("objectClass", "olcDatabaseConfig"),
            ("olcDatabase", "{3}monitor"),
            ("olcRootDN", admin_dn),
            ("olcAccess", f"{{0}}to dn.subtree={reader} read by * none"),
        ],
    )


def frontend_settings() -> list[tuple[str, str]]:
    """Return the server-wide settings the bridge relies on (on the frontend database)."""
    return [
        ("olcPasswordHash", "{ARGON2}"),
        # Keep member values sorted so that groups of 100,000 members stay fast to change.
        ("olcSortVals", "member"),
    ]


# What each service role reads of a person (nobody reads userPassword or pwdHistory).
# GCDS: the search filters and user attributes of docs/gcds/README.md.
GCDS_PERSON = (
    "entry",
    "objectClass",
    "mail",
    "givenName",
    "sn",
    "displayName",
    "entryUUID",
    "mimsSchool",
)
# The rest of a person's public face: a reader, an SSO tool and the person themselves see it.
PUBLIC_PERSON = (
    "uid",
    "cn",
    "mimsMiddleName",
    "mimsHonorificPrefix",
    "mimsHonorificSuffix",
    "mimsRole",
    "mimsLevel",
    "mimsClass",
    "ou",
    "o",
    "employeeType",
    "title",
    "mimsDepartment",
    "mimsOrganization",
    "mimsOtherSchool",
    "memberOf",
    "manager",
    # posixAccount: what SSSD, nslcd and Dovecot read to make a Unix user of a person.
    "uidNumber",
    "gidNumber",
    "homeDirectory",
    "loginShell",
)
# Whether an account may sign in: GCDS filters disabled people out, SSO tools refuse them;
# shadowExpire is the same fact for consumers that never bind (SSSD's access check, NSS).
DISABLED = ("mimsDisabled", "shadowExpire")
LOCK_STATE = ("pwdAccountLockedTime", "pwdReset")
# What a consumer may know of a password policy: whether it locks accounts at all.
POLICY_LOCKOUT = ("entry", "objectClass", "pwdLockout")
PUBLIC_GROUP = (
    "entry",
    "objectClass",
    "cn",
    "member",
    "mail",
    "description",
    "businessCategory",
    "entryUUID",
    "gidNumber",
    "mimsPosixName",
)
# Administrators' grants under ou=admins,ou=services: which person (member) holds which scope.
PUBLIC_GRANT = ("entry", "objectClass", "cn", "member", "businessCategory", "description", "ou")
# Groups are mimsGroup entries, also the service roles the access rules name (`group/...`:
# without it slapd looks for groupOfNames).
GROUP_CLASS = mapping.GROUP_CLASS


def access_rules(suffix: str) -> list[str]:
    """Return the mdb database's olcAccess rules, first match wins.

    Service roles are groups under ``ou=roles,ou=services`` (``service_roles``), so an account
    gets its rights by joining one, never by an edit of these rules. The bridge's own account
    and the ``writer`` role may write people, groups and policies, but only ``write`` (never
    ``manage``) passwords, so slapd checks their password changes like a person's own. Only
    they read what the bridge works with: answer and token hashes, recovery addresses,
    failure counts and times. Nobody reads ``userPassword`` or ``pwdHistory``.
    People may bind but not change their own password over LDAP: that would skip the rules
    ppolicy cannot express (classes, names), so self-service goes through the bridge: the
    portal, or from Linux the bridge's LDAP password service (``password_service.py``); the
    policy entries say ``pwdAllowUserChange: FALSE``. A disabled person (mimsDisabled TRUE)
    cannot bind: nobody may ``auth`` on their password. A person reads the public part of
    their own entry and nothing of anyone else's.
    """
    bridge = f'dn.exact="{service_dn(suffix)}"'
    role = {
        name: f'group/{GROUP_CLASS}/member.exact="{dn.role_group_dn(name, suffix)}"'
        for name in ROLES
    }
    writers = f"by {bridge} write by {role['writer']} write"
    people = f'dn.subtree="{dn.people_base(suffix)}"'
    services = dn.services_base(suffix)
    disabled = escape_filter_chars("TRUE")

    def reads(*names: ServiceRole) -> str:
        return " ".join(f"by {role[name]} read" for name in names)

    def attrs(names: tuple[str, ...]) -> str:
        return "attrs=" + ",".join(names)

    rules = [
        f"to attrs=userPassword filter=(mimsDisabled={disabled}) "
        f"by {bridge} =w by {role['writer']} =w by * none",
        # self =x: people change passwords through the bridge, where every rule is checked.
        f"to {people} attrs=userPassword by {bridge} =wx by {role['writer']} =wx "
        "by self =x by anonymous auth by * none",
        f"to attrs=userPassword by {bridge} =wx by self =x by anonymous auth by * none",
        "to attrs=pwdHistory by * none",
        f"to attrs=mimsChallengeAnswer,mimsTokenHash {writers} by * none",
        f'to dn.subtree="{dn.tokens_base(suffix)}" {writers} by * none',
        f'to dn.subtree="{dn.sync_base(suffix)}" {writers} by * none',
        # Administrators' grants (`mims admin`): readers see who administers what; only the
        # bridge's account writes them, not the writer role (it would grant itself a school).
        f'to dn.subtree="{dn.admins_base(suffix)}" {attrs(PUBLIC_GRANT)} by {bridge} write '
        f"{reads('reader')} by * none",
        # Parents' requests hold their contacts: the bridge's account alone, not even writers.
        f'to dn.subtree="{dn.requests_base(suffix)}" by {bridge} write by * none',
        # Accounts and their roles: the bridge's account alone manages them (`mims service`).
        f'to dn.subtree="{services}" by {bridge} write by self read by * none',
        f"to {people} {attrs(GCDS_PERSON)} {writers} {reads(*ROLES)} by self read by * none",
        f"to {people} {attrs(PUBLIC_PERSON)} {writers} {reads('reader', 'sso')} "
        "by self read by * none",
        f"to {people} {attrs(DISABLED)} {writers} {reads('reader', 'gcds', 'sso')} by * none",
        f"to {people} {attrs(LOCK_STATE)} {writers} {reads('sso')} by * none",
        f'to dn.subtree="{dn.groups_base(suffix)}" {attrs(PUBLIC_GROUP)} {writers} '
        f"{reads(*ROLES)} by * none",
        # Whether a policy locks accounts at all: SSSD's ppolicy access check reads it before
        # a person's lock, and lets a locked person in (an SSH key) when it cannot.
        f'to dn.subtree="{dn.policies_base(suffix)}" {attrs(POLICY_LOCKOUT)} {writers} '
        f"{reads('sso')} by * none",
        # The suffix itself, so that a tool may search from it (GCDS's and Keycloak's base DN).
        f'to dn.base="{suffix}" attrs=entry,objectClass {writers} {reads(*ROLES)} by * none',
        f"to * {writers} by * none",
    ]
    return [f"{{{index}}}{rule}" for index, rule in enumerate(rules)]


def service_roles(suffix: str) -> list[ldif.Entry]:
    """Return the OU of role groups and one group per service role, each still empty.

    Role groups are mimsGroup entries like the people's groups, so an empty one has no
    ``member``; they get no POSIX attributes: they are the directory's, not for NSS.
    """
    return [
        _ou("roles", dn.services_base(suffix), "Service roles: the access rules name these"),
        *[
            (
                dn.role_group_dn(name, suffix),
                [
                    ("objectClass", "top"),
                    ("objectClass", GROUP_CLASS),
                    ("cn", name),
                    ("description", f"Service accounts in the {name} role (mims service)"),
                ],
            )
            for name in ROLES
        ],
    ]


def admin_grants(suffix: str) -> list[ldif.Entry]:
    """Return the OU of administrators' grants and the MIMS administrators' group (empty).

    School and class grants get their groups when first granted (``directory/grants.py``).
    """
    return [grants.admins_ou(suffix), grants.grant_group(AllSchools(), suffix)]


def limits(suffix: str) -> list[str]:
    """Return the mdb database's olcLimits: service accounts read without size or time limits."""
    unlimited = (
        "size.soft=unlimited size.hard=unlimited size.pr=unlimited size.prtotal=unlimited "
        "time.soft=unlimited time.hard=unlimited"
    )
    # dn.onelevel: slapd 2.5 warns that the short form dn.one is deprecated.
    return [f'{{0}}dn.onelevel="ou=services,{suffix}" {unlimited}']


def overlays(suffix: str) -> list[tuple[str, list[tuple[str, str | bytes]]]]:
    """Return the mdb database's overlays in stack order, each with its settings."""
    return [
        (
            "memberof",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcMemberOf"),
                ("olcMemberOfGroupOC", GROUP_CLASS),
                ("olcMemberOfMemberAD", "member"),
                ("olcMemberOfMemberOfAD", "memberOf"),
                ("olcMemberOfRefInt", "TRUE"),
                ("olcMemberOfDangling", "ignore"),
            ],
        ),
        (
            "refint",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcRefintConfig"),
                ("olcRefintAttribute", "member"),
                ("olcRefintAttribute", "manager"),
            ],
        ),
        (
            "unique",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcUniqueConfig"),
                *[("olcUniqueURI", uri) for uri in unique_uris(suffix)],
            ],
        ),
        (
            "ppolicy",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcPPolicyConfig"),
                ("olcPPolicyDefault", default_policy_dn(suffix)),
                # Without it a plain modify of userPassword would store the cleartext.
                ("olcPPolicyHashCleartext", "TRUE"),
                ("olcPPolicyUseLockout", "TRUE"),
            ],
        ),
        (
            "sssvlv",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcSssVlvConfig"),
                ("olcSssVlvMax", "64"),
                ("olcSssVlvMaxKeys", "3"),
                ("olcSssVlvMaxPerConn", "16"),
            ],
        ),
        (
            "syncprov",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcSyncProvConfig"),
                ("olcSpCheckpoint", "100 10"),
                ("olcSpSessionlog", "10000"),
            ],
        ),
        # Answers the deref control (controls.py): a person read comes with the entryUUIDs of
        # their groups and manager, instead of a second search for them.
        ("deref", [("objectClass", "olcOverlayConfig")]),
        # Every write, made by anyone, into cn=accesslog (`mims audit` shows those not made
        # by the bridge, whose own are in its audit file); kept 30 days, purged daily.
        (
            "accesslog",
            [
                ("objectClass", "olcOverlayConfig"),
                ("objectClass", "olcAccessLogConfig"),
                ("olcAccessLogDB", ACCESSLOG_SUFFIX),
                ("olcAccessLogOps", "writes"),
                ("olcAccessLogPurge", "30+00:00 1+00:00"),
            ],
        ),
    ]


def unique_uris(suffix: str) -> list[str]:
    """Return the unique overlay's rules.

    An address (mail) names one entry in the whole tree: a group's address must not be a
    person's login ID. An external ID names one person, and so does a userName a SCIM client
    chose (compared by its caseIgnoreMatch, so without regard to case), a uid (in any role's
    OU) and a uidNumber. A group's NSS name (mimsPosixName) and its gidNumber name one group
    (a person's gidNumber is their own uidNumber, a user private group, so the rule on
    gidNumber stays under ou=groups).
    """
    people = dn.people_base(suffix)
    return [
        f"ldap:///{suffix}?mail?sub",
        f"ldap:///{people}?mimsExternalId?sub",
        f"ldap:///{people}?mimsUserName?sub",
        # A login ID's local part names one person in every role: the uid consumers search
        # by (Apache, Dovecot, SSSD) never finds a student and a teacher of the same name.
        f"ldap:///{people}?uid?sub",
        f"ldap:///{people}?uidNumber?sub",
        f"ldap:///{dn.groups_base(suffix)}?mimsPosixName?sub",
        f"ldap:///{dn.groups_base(suffix)}?gidNumber?sub",
    ]


def base_tree_ldif(suffix: str, version: int, service_password_hash: str) -> str:
    """Return the entries every MIMS directory starts with, for slapadd -n1."""
    return ldif.entries(base_entries(suffix, version, service_password_hash))


def base_entries(suffix: str, version: int, service_password: str) -> list[ldif.Entry]:
    """Return the entries every MIMS directory starts with, the suffix entry first.

    ``service_password`` is the service account's userPassword as stored: a hash for slapadd,
    or the cleartext for an add that slapd's ppolicy overlay hashes (olcPPolicyHashCleartext).
    """
    return [
        (suffix, [*_suffix_entry(suffix), ("mimsSchemaVersion", str(version))]),
        _ou("people", suffix, "Every person, one OU per role"),
        *[
            _ou(ou, dn.people_base(suffix), f"People whose role is {role}")
            for role, ou in dn.ROLE_OUS.items()
        ],
        _ou("groups", suffix, "Schools, levels, classes and client-made groups (mimsGroup)"),
        _ou("policies", suffix, "Password policies (pwdPolicy), one per configured policy"),
        _ou("services", suffix, "Accounts of programs: the bridge, SSO tools, sync tools"),
        sync_ou(suffix),
        requests_ou(suffix),
        id_numbers.counter_entry(suffix, posix.DEFAULT_RULES),
        *service_roles(suffix),
        *admin_grants(suffix),
        (
            default_policy_dn(suffix),
            [
                ("objectClass", "top"),
                ("objectClass", "organizationalRole"),
                ("objectClass", "pwdPolicy"),
                ("cn", "default"),
                (
                    "description",
                    "For accounts that name no policy: no lockout, so a service is never locked",
                ),
                ("pwdAttribute", "userPassword"),
                ("pwdMaxFailure", "0"),
                ("pwdLockout", "FALSE"),
                ("pwdAllowUserChange", "FALSE"),  # secrets change through `mims service`
            ],
        ),
        (
            service_dn(suffix),
            [
                ("objectClass", "top"),
                ("objectClass", "organizationalRole"),
                ("objectClass", "simpleSecurityObject"),
                ("cn", SERVICE_NAME),
                ("description", "The mims-bridge service; deliberately not the rootDN"),
                ("userPassword", service_password),
            ],
        ),
    ]


def sync_ou(suffix: str) -> ldif.Entry:
    """Return the OU of the downstream sync state (inside ou=services: the bridge's alone)."""
    return _ou("sync", f"ou=services,{suffix}", "Downstream targets: cookies, dead letters")


def requests_ou(suffix: str) -> ldif.Entry:
    """Return the OU of parents' reset requests (inside ou=services: the bridge's alone)."""
    return _ou("requests", f"ou=services,{suffix}", "Parents' reset requests for the console")


def _suffix_entry(suffix: str) -> list[tuple[str, str]]:
    """Return the suffix entry's classes and naming value: ``dc=`` or ``o=`` suffixes."""
    attribute, value = suffix.split(",")[0].split("=", 1)
    classes = ["top", "organization", DIRECTORY_CLASS]
    if attribute.lower() == "dc":
        return [("objectClass", c) for c in [*classes, "dcObject"]] + [("dc", value), ("o", "MIMS")]
    return [("objectClass", c) for c in classes] + [("o", value)]


def _ou(name: str, parent: str, description: str) -> ldif.Entry:
    return (
        f"ou={name},{parent}",
        [
            ("objectClass", "top"),
            ("objectClass", "organizationalUnit"),
            ("ou", name),
            ("description", description),
        ],
    )
