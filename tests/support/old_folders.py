"""What older versions wrote, for tests that build a data folder as they did and upgrade it."""

from __future__ import annotations

import pytest

from bridge.directory import dn, ldif, slapd_config

OLD_GROUP_CLASS = "groupOfNames"
# Attributes a directory has only from version 7 on (the nis schema, the groups' NSS name,
# where a person works as a client sent it): a version-6 slapd refuses access rules, indexes
# or unique rules that name them.
VERSION_7_ATTRIBUTES = frozenset(
    {
        "uidNumber",
        "gidNumber",
        "homeDirectory",
        "loginShell",
        "shadowExpire",
        "mimsPosixName",
        "mimsDepartment",
        "mimsOrganization",
        "mimsOtherSchool",
    }
)


def write_as_before_version_7(patch: pytest.MonkeyPatch) -> None:
    """Make slapd_config write a directory as versions 1 to 6 did, until ``patch`` is undone.

    Call it after a fixture's own patches (it trims the indexes and unique rules they set).
    No nis schema, no id-numbers counter, nothing naming a version-7 attribute; groups were
    groupOfNames, which requires a member, so every group, the service roles too, carried the
    zero-length DN, and the memberof overlay and the access rules named that class.
    """
    patch.setattr(slapd_config, "SYSTEM_SCHEMAS", ("core", "cosine", "inetorgperson"))
    for name in ("PUBLIC_PERSON", "DISABLED", "PUBLIC_GROUP"):
        patch.setattr(slapd_config, name, _without_v7(getattr(slapd_config, name)))
    patch.setattr(slapd_config, "INDEXES", _without_v7(slapd_config.INDEXES))
    unique = slapd_config.unique_uris
    patch.setattr(slapd_config, "unique_uris", lambda suffix: _without_v7(unique(suffix), "?"))
    patch.setattr(slapd_config, "GROUP_CLASS", OLD_GROUP_CLASS)
    roles = slapd_config.service_roles
    patch.setattr(slapd_config, "service_roles", lambda suffix: [_old(e) for e in roles(suffix)])
    # Administrators' grants (version 8) are mimsGroup entries, a class these versions lack.
    patch.setattr(slapd_config, "admin_grants", lambda suffix: [])
    entries = slapd_config.base_entries
    patch.setattr(
        slapd_config,
        "base_entries",
        lambda suffix, *rest: [
            e for e in entries(suffix, *rest) if e[0] != dn.id_numbers_dn(suffix)
        ],
    )


def _without_v7(values: tuple[str, ...] | list[str], separator: str = " ") -> tuple[str, ...]:
    """Return the values (attributes, "attribute eq" indexes, unique URIs) of version 6."""

    def attribute(value: str) -> str:
        if separator == "?":
            return value.split("?")[1]  # ldap:///BASE?attribute?sub
        return value.split()[0].split(",")[0]

    return tuple(value for value in values if attribute(value) not in VERSION_7_ATTRIBUTES)


def _old(entry: ldif.Entry) -> ldif.Entry:
    entry_dn, attributes = entry
    if ("objectClass", OLD_GROUP_CLASS) in attributes:
        return entry_dn, [*attributes, ("member", "")]
    return entry
