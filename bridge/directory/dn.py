"""DNs and filters, always escaped: RFC 4514 for DN values, RFC 4515 for filter values.

Nothing else in the bridge builds a DN or a filter from a value it was given.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from bridge.core.people import Role

ROLE_OUS: dict[Role, str] = {"student": "students", "staff": "staff", "hq": "hq"}
OU_ROLES: dict[str, Role] = {ou: role for role, ou in ROLE_OUS.items()}


def role_base(role: Role, suffix: str) -> str:
    """Return the OU that holds the people of one role."""
    return f"ou={ROLE_OUS[role]},ou=people,{suffix}"


def people_base(suffix: str) -> str:
    """Return the OU that holds every person."""
    return f"ou=people,{suffix}"


def groups_base(suffix: str) -> str:
    """Return the OU that holds every group."""
    return f"ou=groups,{suffix}"


def sync_base(suffix: str) -> str:
    """Return the OU that holds each downstream target's sync state."""
    return f"ou=sync,ou=services,{suffix}"


def sync_target_dn(name: str, suffix: str) -> str:
    """Return where one downstream target's cookie and counters live."""
    return f"cn={escape_rdn(name)},{sync_base(suffix)}"


def dead_letter_dn(entry_uuid: str, target: str, suffix: str) -> str:
    """Return where a change that ``target`` refused about one entry is kept."""
    return f"mimsSyncEntryUUID={escape_rdn(entry_uuid)},{sync_target_dn(target, suffix)}"


def policies_base(suffix: str) -> str:
    """Return the OU of the password policy entries (pwdPolicy)."""
    return f"ou=policies,{suffix}"


def policy_dn(name: str, suffix: str) -> str:
    """Return where a configured password policy's pwdPolicy entry lives."""
    return f"cn={escape_rdn(name)},ou=policies,{suffix}"


def decoy_dn(suffix: str) -> str:
    """Return the sign-in decoy's entry (``directory/decoy.py``): its own policy, so here."""
    return f"cn=sign-in-decoy,ou=policies,{suffix}"


def locked_decoy_dn(suffix: str) -> str:
    """Return the locked sign-in decoy's entry (``directory/decoy.py``), beside the decoy."""
    return f"cn=sign-in-decoy-locked,ou=policies,{suffix}"


def person_rdn(local_part: str) -> str:
    """Return a person's RDN, ``uid=<login ID local part>`` (RFC 4514 escaped)."""
    return f"uid={escape_rdn(local_part)}"


def person_dn(local_part: str, role: Role, suffix: str) -> str:
    """Return where a person with this login ID local part and role lives."""
    return f"{person_rdn(local_part)},{role_base(role, suffix)}"


def group_dn(name: str, suffix: str) -> str:
    """Return where a group of this name lives (``cn=<name>,ou=groups``)."""
    return f"cn={escape_rdn(name)},{groups_base(suffix)}"


def role_of(dn: str) -> Role | None:
    """Return the role whose OU holds ``dn``, or None if it is not a person's DN."""
    parts = [_pair(rdn) for rdn in split(dn)]
    parts = [(attribute.lower(), value.lower()) for attribute, value in parts]
    if len(parts) < 3 or parts[2] != ("ou", "people") or parts[1][0] != "ou":
        return None
    return OU_ROLES.get(parts[1][1])


# Pure functions of a string, asked again for the same few group DNs with every person read
# (each memberOf value and each dereferenced group): remembered, not split again.
_REMEMBERED = 4096


@lru_cache(maxsize=_REMEMBERED)
def first_value(dn: str) -> str:
    """Return the value of a DN's first RDN, unescaped (a group's name, a person's uid)."""
    return _pair(split(dn)[0])[1]


def normalised(dn: str) -> tuple[tuple[str, str], ...]:
    """Return a DN in a form where two spellings of one entry are equal.

    slapd compares DNs by their normalised form (distinguishedNameMatch, RFC 4517 section
    4.2.15): attribute types and the caseIgnore values the bridge's DNs are made of without
    regard to case, escapes undone. Two spellings of one member in one modify are refused
    as attributeOrValueExists ("provided more than once").
    """
    return tuple((attribute.lower(), value.lower()) for attribute, value in map(_pair, split(dn)))


def split(dn: str) -> list[str]:
    """Split a DN into its RDNs at the commas that are not escaped (RFC 4514 section 3).

    ldap3's parse_dn refuses a '#' inside a value, which RFC 4514 allows unescaped.
    """
    if "\\" not in dn:  # no escapes: every comma ends an RDN (each person read splits several)
        return dn.split(",")
    rdns, start, index = [], 0, 0
    while index < len(dn):
        if dn[index] == "\\":
            index += 2
            continue
        if dn[index] == ",":
            rdns.append(dn[start:index])
            start = index + 1
        index += 1
    rdns.append(dn[start:])
    return rdns


def _pair(rdn: str) -> tuple[str, str]:
    attribute, _, value = rdn.partition("=")
    return attribute.strip(), unescape(value)


_ESCAPED = re.compile(rb"\\([0-9a-fA-F]{2}|.)", re.DOTALL)


def unescape(value: str) -> str:
    """Undo RFC 4514 escaping: ``\\,`` and ``\\2c`` both become ``,`` (hex pairs are UTF-8)."""
    if "\\" not in value:
        return value

    def one(match: re.Match[bytes]) -> bytes:
        token = match.group(1)
        return bytes.fromhex(token.decode()) if len(token) == 2 else token

    return _ESCAPED.sub(one, value.encode()).decode("utf-8", errors="replace")


def equals(attribute: str, value: str) -> str:
    """Return ``(attribute=value)`` with the value escaped (RFC 4515 section 3)."""
    return f"({attribute}={escape_filter_chars(value)})"


def within(base: str) -> str:
    """Return a filter matching the entries at or below ``base`` (entryDN, dnSubtreeMatch)."""
    return f"(entryDN:dnSubtreeMatch:={escape_filter_chars(base)})"


def at_least(attribute: str, value: str) -> str:
    """Return ``(attribute>=value)`` with the value escaped (RFC 4515 section 3)."""
    return f"({attribute}>={escape_filter_chars(value)})"


def starts_with(attribute: str, value: str) -> str:
    """Return ``(attribute=value*)`` with the value escaped."""
    return f"({attribute}={escape_filter_chars(value)}*)"


def starts_and_ends_with(attribute: str, initial: str, final: str) -> str:
    """Return ``(attribute=initial*final)`` with both parts escaped (RFC 4515 section 3)."""
    return f"({attribute}={escape_filter_chars(initial)}*{escape_filter_chars(final)})"


def one_word_after(attribute: str, head: str, separator: str) -> str:
    """Return a filter for ``head<separator>word`` values with no separator in the word.

    ``(&(uid=tan_*)(!(uid=tan_*_*)))`` matches tan_1 and tan_12, a name's suffixed login IDs,
    and not tan_wei_1, which every longer name that begins the same way would add (RFC 4515
    section 3: substrings with an initial and an any part).
    """
    initial = escape_filter_chars(head + separator)
    inner = escape_filter_chars(separator)
    return f"(&({attribute}={initial}*)(!({attribute}={initial}*{inner}*)))"


def any_of(attribute: str, values: list[str]) -> str:
    """Return a filter matching any of the values (one round trip for a batch)."""
    if len(values) == 1:
        return equals(attribute, values[0])
    return "(|" + "".join(equals(attribute, value) for value in values) + ")"


def services_base(suffix: str) -> str:
    """Return the OU of programs' accounts (the bridge's own, SSO tools, GCDS, ...)."""
    return f"ou=services,{suffix}"


def service_account_dn(name: str, suffix: str) -> str:
    """Return where the service account of this name lives."""
    return f"cn={escape_rdn(name)},{services_base(suffix)}"


def id_numbers_dn(suffix: str) -> str:
    """Return the counter entry that uidNumbers and gidNumbers are taken from (id_numbers.py)."""
    return f"cn=id-numbers,{services_base(suffix)}"


def roles_base(suffix: str) -> str:
    """Return the OU of the role groups that the access rules name."""
    return f"ou=roles,{services_base(suffix)}"


def role_group_dn(role: str, suffix: str) -> str:
    """Return the group whose members have a service role (``cn=<role>,ou=roles,...``)."""
    return f"cn={escape_rdn(role)},{roles_base(suffix)}"


def requests_base(suffix: str) -> str:
    """Return the OU of parents' reset requests (the bridge's alone: parents' contacts)."""
    return f"ou=requests,ou=services,{suffix}"


def request_dn(request_id: str, suffix: str) -> str:
    """Return where one parent's reset request lives (``cn=<id>,ou=requests,...``)."""
    return f"cn={escape_rdn(request_id)},{requests_base(suffix)}"


def admins_base(suffix: str) -> str:
    """Return the OU of administrators' grants: one mimsGroup per scope (``grants.py``)."""
    return f"ou=admins,{services_base(suffix)}"


def grant_group_dn(label: str, suffix: str) -> str:
    """Return the group of one grant (``cn=school:NAME,ou=admins,ou=services,...``)."""
    return f"cn={escape_rdn(label)},{admins_base(suffix)}"


@lru_cache(maxsize=_REMEMBERED)
def is_grant_group(value: str) -> bool:
    """Return whether a DN (a person's memberOf value) names a grant's group, not a group."""
    parent = tuple((a.lower(), v.lower()) for a, v in map(_pair, split(value)[1:3]))
    return parent == (("ou", "admins"), ("ou", "services"))


def tokens_base(suffix: str) -> str:
    """Return the OU that holds API tokens (made on first use)."""
    return f"ou=tokens,ou=services,{suffix}"


def token_dn(name: str, suffix: str) -> str:
    """Return where the API token of this name lives."""
    return f"cn={escape_rdn(name)},{tokens_base(suffix)}"


def escape_rdn_value(value: str) -> str:
    """Return a value escaped for use in an RDN (RFC 4514 section 2.4)."""
    escaped: str = escape_rdn(value)
    return escaped
