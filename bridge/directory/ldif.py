"""Write LDIF (RFC 2849) for slapadd and ldapadd: safe values verbatim, the rest base64."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence

Entry = tuple[str, Sequence[tuple[str, str | bytes]]]

# RFC 2849 SAFE-STRING: no NUL, LF, CR; does not start with space, colon or '<'; ASCII only.
_SAFE = re.compile(
    r"^(?:[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*)?$"
)


def line(attribute: str, value: str | bytes) -> str:
    """Return one ``attr: value`` line, base64-encoded when the value is not a safe string."""
    if isinstance(value, str) and _SAFE.match(value) and not value.endswith(" "):
        return f"{attribute}: {value}"
    raw = value.encode() if isinstance(value, str) else value
    return f"{attribute}:: {base64.b64encode(raw).decode('ascii')}"


def entries(records: Iterable[Entry]) -> str:
    """Return LDIF content records, separated by blank lines."""
    blocks = []
    for dn, attributes in records:
        lines = [line("dn", dn)] + [line(name, value) for name, value in attributes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# One modification of a change record: the operation (add, replace, delete), the attribute
# and its values (RFC 2849 "mod-spec").
Modification = tuple[str, str, Sequence[str | bytes]]


def additions(records: Iterable[Entry]) -> str:
    """Return change records that add these entries, for ``ldapmodify`` (or ``ldapadd``)."""
    return entries((dn, [("changetype", "add"), *attributes]) for dn, attributes in records)


def modification(dn: str, changes: Iterable[Modification]) -> str:
    """Return one ``changetype: modify`` record, each modification ended by a ``-`` line."""
    lines = [line("dn", dn), "changetype: modify"]
    for operation, attribute, values in changes:
        lines.append(f"{operation}: {attribute}")
        lines += [line(attribute, value) for value in values]
        lines.append("-")
    return "\n".join(lines) + "\n"
