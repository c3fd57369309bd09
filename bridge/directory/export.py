"""The LDIF that makes an existing OpenLDAP (2.5 or 2.6) a home for the bridge.

Two parts, because two identities apply them:

- the cn=config part, for the server's administrator (``ldapmodify -Y EXTERNAL -H
  ldapi:///``): the modules, the mims schema, the frontend's settings, and the database's
  indexes, access rules, limits and overlays;
- the data part, for the database's rootDN (``ldapadd -x -D ROOTDN -W``): the OUs, the
  password policies and the bridge's service account.

Every value comes from ``slapd_config.py`` and ``passwords.policy_attributes``, which set up
the managed slapd too: there is one copy of the schema, the access rules and the overlays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bridge.core.passwords import Policy
from bridge.directory import dn, ldif, slapd_config
from bridge.directory.passwords import POLICY_CLASSES, policy_attributes

DEFAULT_DATABASE = "olcDatabase={1}mdb,cn=config"
FRONTEND = "olcDatabase={-1}frontend,cn=config"
# Every distribution's slapd loads its database backend already.
_BACKENDS = ("back_mdb",)
# The managed slapd's own: an accesslog needs a database of its own, which is the site's choice.
_MANAGED_ONLY = ("accesslog",)


def config_part(suffix: str, database_dn: str = DEFAULT_DATABASE) -> str:
    """Return the cn=config change records, for ``ldapmodify`` as the cn=config administrator."""
    modules = [name for name in slapd_config.MODULES if name not in _BACKENDS + _MANAGED_ONLY]
    module_list: ldif.Entry = (
        "cn=module,cn=config",
        [("objectClass", "olcModuleList"), ("cn", "module")]
        + [("olcModuleLoad", slapd_config.module_load(name)) for name in modules],
    )
    overlays = [
        (f"olcOverlay={name},{database_dn}", [("olcOverlay", name), *attributes])
        for name, attributes in slapd_config.overlays(suffix)
        if name not in _MANAGED_ONLY
    ]
    parts = [
        _comment(
            f"mims-bridge: cn=config for the database of {suffix} ({database_dn}).",
            "Apply as the cn=config administrator, for example:",
            "  ldapmodify -Y EXTERNAL -H ldapi:/// -f mims-config.ldif",
            "",
            "1. The modules of the overlays and of the {ARGON2} password hash. slapd refuses to",
            "load a module twice: leave out any this server already loads (or has built in).",
        )
        + ldif.additions([module_list]),
        _comment(
            "2. The mims schema (schemas/mims.ldif). The bridge also needs the nis schema",
            "(posixAccount, shadowAccount), which Debian's slapd loads by default; elsewhere:",
            "  ldapadd -Y EXTERNAL -H ldapi:/// -f /etc/ldap/schema/nis.ldif",
        )
        + _schema_addition(),
        _comment(
            "3. Server-wide settings: new passwords hashed with {ARGON2}, group members kept",
            "sorted (fast changes to large groups).",
        )
        + ldif.modification(
            FRONTEND,
            [("replace", name, [value]) for name, value in slapd_config.frontend_settings()],
        ),
        _comment(
            "4. The indexes the bridge's searches need. This replaces the database's index",
            "list (slapd refuses an index it already has): add back any index of your own.",
        )
        + ldif.modification(database_dn, [("replace", "olcDbIndex", slapd_config.INDEXES)]),
        _comment(
            "5. The access rules, placed before the database's own ({0} onwards). The last one",
            "ends in `by * none`, so rules after it no longer apply to this database.",
        )
        + ldif.modification(database_dn, [("add", "olcAccess", slapd_config.access_rules(suffix))]),
        _comment("6. Service accounts read without size or time limits.")
        + ldif.modification(database_dn, [("add", "olcLimits", slapd_config.limits(suffix))]),
        _comment(
            "7. The overlays, in this order: memberof, refint, unique, ppolicy, sssvlv,",
            "syncprov, deref. Leave out one the database has already (and check its settings).",
        )
        + ldif.additions(overlays),
    ]
    return "\n".join(parts)


def data_part(
    suffix: str,
    service_password: str,
    policies: Mapping[str, Policy],
    existing_suffix: bool = False,
) -> str:
    """Return the entries the bridge needs, for ``ldapadd`` as the database's rootDN.

    The service account's password is written in clear: the ppolicy overlay configured by the
    cn=config part hashes it on the add (olcPPolicyHashCleartext). ``existing_suffix``: the
    suffix entry is there already, so it only gets the mims class and the schema version.
    """
    version = slapd_config.schema_version()
    suffix_entry, *entries = slapd_config.base_entries(suffix, version, service_password)
    entries += [
        (
            dn.policy_dn(name, suffix),
            [("objectClass", c) for c in POLICY_CLASSES]
            + [("cn", name)]
            + [
                (key, value)
                for key, values in policy_attributes(policy).items()
                for value in values
            ],
        )
        for name, policy in sorted(policies.items())
    ]
    head = _comment(
        f"mims-bridge: the base entries of {suffix}, its password policies and the service",
        f"account {slapd_config.service_dn(suffix)}, whose password is in this file: keep it",
        "private. Apply as the database's rootDN, for example:",
        "  ldapadd -x -H ldapi:/// -D ROOT_DN -W -f mims-data.ldif",
    )
    if existing_suffix:
        first = ldif.modification(
            suffix,
            [
                ("add", "objectClass", [slapd_config.DIRECTORY_CLASS]),
                ("replace", "mimsSchemaVersion", [str(version)]),
            ],
        )
    else:
        first = ldif.additions([suffix_entry])
    return "\n".join([head + first, ldif.additions(entries)])


def _schema_addition() -> str:
    """Return schemas/mims.ldif as a change record that adds it under cn=schema,cn=config."""
    text = slapd_config.PROJECT_SCHEMA.read_text()
    return re.sub(r"^(dn: .*)$", r"\1\nchangetype: add", text, count=1, flags=re.M)


def _comment(*lines: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in lines) + "\n"
