"""Read-only User attributes: a write may re-send them but not change them (RFC 7643 2.2).

A PATCH that would change one, or a PUT that sends a different value, is refused with 400
``mutability`` (RFC 7644 sections 3.5.1 and 3.5.2) rather than dropped without a word: a
client that thinks it set an e-mail address should learn that the login ID is the address.
Re-sending the stored value is fine (Entra ID re-sends ``emails``). Values are compared as
the schema says: without regard to case, and multi-valued ones as sets of their ``value``.
A POST's read-only values are ignored (RFC 7644 section 3.3): nothing is stored yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.scim.errors import Mutability
from bridge.scim.filters import MIMS_USER
from bridge.scim.mapping import boolean

Comparable = str | bool | frozenset[str] | None


def _text(value: Any) -> Comparable:
    return value.casefold() if isinstance(value, str) else value


def _values(value: Any) -> Comparable:
    """Return the ``value`` sub-attributes of a multi-valued attribute, case folded."""
    items = value if isinstance(value, list) else [value]
    found = (item.get("value") if isinstance(item, dict) else item for item in items)
    return frozenset(str(item).casefold() for item in found if item is not None)


def _flag(name: str) -> Callable[[Any], Comparable]:
    def compare(value: Any) -> Comparable:
        return boolean(value, name) if value is not None else None

    return compare


# (extension URN or None for the core schema, attribute) -> how its values compare.
READ_ONLY: dict[tuple[str | None, str], Callable[[Any], Comparable]] = {
    (None, "id"): lambda value: value,
    (None, "emails"): _values,
    (None, "groups"): _values,
    (MIMS_USER, "role"): _text,
    (MIMS_USER, "loginId"): _text,
    (MIMS_USER, "answersSet"): _flag("answersSet"),
    (MIMS_USER, "mustChange"): _flag("mustChange"),
}


def _get(document: Mapping[str, Any], urn: str | None, name: str) -> Any:
    container = document if urn is None else document.get(urn)
    value = container.get(name) if isinstance(container, dict) else None
    return None if value in ([], {}, "") else value


def check(stored: Mapping[str, Any], wanted: Mapping[str, Any], partial: bool) -> None:
    """Refuse ``wanted`` if it changes a read-only attribute of ``stored`` (both canonical).

    ``partial`` (a PUT): an attribute left out, null or empty says nothing; otherwise (the
    result of a PATCH) a read-only attribute that is gone was removed, which is a change too.
    """
    for (urn, name), comparable in READ_ONLY.items():
        value = _get(wanted, urn, name)
        if partial and value is None:
            continue
        if comparable(value) != comparable(_get(stored, urn, name)):
            label = f"{urn}:{name}" if urn else name
            raise Mutability(f"{label} is read-only: send it unchanged or leave it out")
