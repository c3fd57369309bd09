"""LDAP controls ldap3 has no helpers for, encoded with pyasn1 (which ldap3 depends on).

- Server-side sort, RFC 2891: request 1.2.840.113556.1.4.473, response ...474.
- Virtual list view, draft-ietf-ldapext-ldapv3-vlv-09: request 2.16.840.1.113730.3.4.9,
  response ...4.10.
- Assertion, RFC 4528: 1.3.6.1.1.12, whose value is a BER-encoded search filter.
- Post-read, RFC 4527: 1.3.6.1.1.13.2, the entry's attributes as the operation left them
  (ldap3 decodes its response for ldap3 writes; post_read_entry for python-ldap ones).
- Dereference, draft-masarati-ldap-deref-00 (slapd's ``deref`` overlay): 1.3.6.1.4.1.4203.666.5.16.
  Each entry comes back with attributes of the entries its DN-valued attributes name (a person's
  groups' and manager's ``entryUUID``), which saves a second search per read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldap3.operation.search import compile_filter, parse_filter
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import namedtype, tag, univ

SORT_REQUEST = "1.2.840.113556.1.4.473"
SORT_RESPONSE = "1.2.840.113556.1.4.474"
VLV_REQUEST = "2.16.840.1.113730.3.4.9"
VLV_RESPONSE = "2.16.840.1.113730.3.4.10"
ASSERTION = "1.3.6.1.1.12"
DEREF = "1.3.6.1.4.1.4203.666.5.16"
POST_READ = "1.3.6.1.1.13.2"

Control = tuple[str, bool, bytes]


def _context(number: int, constructed: bool = False) -> tag.Tag:
    form = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, form, number)


class _Names(univ.SequenceOf):  # type: ignore[misc]
    componentType = univ.OctetString()


class _DerefSpec(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("derefAttr", univ.OctetString()),
        namedtype.NamedType("attributes", _Names()),
    )


class _DerefSpecs(univ.SequenceOf):  # type: ignore[misc]
    componentType = _DerefSpec()


class _SortKey(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("attributeType", univ.OctetString()),
        namedtype.OptionalNamedType(
            "orderingRule", univ.OctetString().subtype(implicitTag=_context(0))
        ),
        namedtype.OptionalNamedType(
            "reverseOrder", univ.Boolean().subtype(implicitTag=_context(1))
        ),
    )


class _SortKeyList(univ.SequenceOf):  # type: ignore[misc]
    componentType = _SortKey()


class _ByOffset(univ.Sequence):  # type: ignore[misc]
    tagSet = univ.Sequence.tagSet.tagImplicitly(_context(0, constructed=True))
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("offset", univ.Integer()),
        namedtype.NamedType("contentCount", univ.Integer()),
    )


class _VlvRequest(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("beforeCount", univ.Integer()),
        namedtype.NamedType("afterCount", univ.Integer()),
        namedtype.NamedType("byOffset", _ByOffset()),
        namedtype.OptionalNamedType("contextID", univ.OctetString()),
    )


class _VlvResponse(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("targetPosition", univ.Integer()),
        namedtype.NamedType("contentCount", univ.Integer()),
        namedtype.NamedType("virtualListViewResult", univ.Enumerated()),
        namedtype.OptionalNamedType("contextID", univ.OctetString()),
    )


@dataclass(frozen=True)
class SortKey:
    """Sort on ``attribute`` with ``ordering`` (a matching rule name), maybe reversed."""

    attribute: str
    ordering: str | None = None
    reverse: bool = False


@dataclass(frozen=True)
class VlvResult:
    """What the server said about a VLV page (draft-ietf-ldapext-ldapv3-vlv section 6.2)."""

    target: int
    count: int
    result: int
    context: bytes | None


def sort_request(keys: list[SortKey]) -> Control:
    """Return a critical server-side sort request control (RFC 2891 section 1.1)."""
    value = _SortKeyList()
    for index, key in enumerate(keys):
        item = _SortKey()
        item["attributeType"] = key.attribute
        if key.ordering:
            item["orderingRule"] = key.ordering
        if key.reverse:
            item["reverseOrder"] = True
        value[index] = item
    return (SORT_REQUEST, True, encoder.encode(value))


def vlv_request(offset: int, after: int, context: bytes | None = None) -> Control:
    """Return a critical VLV request for ``1 + after`` entries from ``offset`` (1-based)."""
    value = _VlvRequest()
    value["beforeCount"] = 0
    value["afterCount"] = after
    target = value["byOffset"]
    target["offset"] = offset
    target["contentCount"] = 0  # 0: offset is an absolute position
    if context:
        value["contextID"] = context
    return (VLV_REQUEST, True, encoder.encode(value))


def vlv_response(raw: bytes) -> VlvResult:
    """Decode a VLV response control's value."""
    value, _ = decoder.decode(raw, asn1Spec=_VlvResponse())
    context = value["contextID"]
    return VlvResult(
        target=int(value["targetPosition"]),
        count=int(value["contentCount"]),
        result=int(value["virtualListViewResult"]),
        context=bytes(context) if context.isValue else None,
    )


def assertion(filter_text: str) -> Control:
    """Return a critical assertion control: the operation runs only if the entry matches."""
    parsed = parse_filter(
        filter_text, None, auto_escape=False, auto_encode=True, validator=None, check_names=False
    )
    return (ASSERTION, True, encoder.encode(compile_filter(parsed.elements[0])))


def post_read(attributes: list[str]) -> Control:
    """Return a critical post-read request (RFC 4527 section 3.2) for these attributes."""
    names = _Names()
    for position, name in enumerate(attributes):
        names[position] = name
    return (POST_READ, True, encoder.encode(names))


def deref_request(specs: dict[str, list[str]]) -> Control:
    """Return a non-critical deref request: for each DN-valued attribute, the attributes wanted.

    Non-critical, so a directory without the overlay answers the search without the response
    control and the caller falls back to a search of its own.
    """
    value = _DerefSpecs()
    for index, (attribute, wanted) in enumerate(specs.items()):
        spec = _DerefSpec()
        spec["derefAttr"] = attribute
        names = spec["attributes"]
        for position, name in enumerate(wanted):
            names[position] = name
        value[index] = spec
    return (DEREF, False, encoder.encode(value))


@dataclass(frozen=True)
class Dereferenced:
    """One value of a DN-valued attribute and the attributes read from the entry it names."""

    attribute: str
    dn: str
    values: dict[str, list[bytes]]


def deref_response(raw: bytes) -> list[Dereferenced]:
    """Decode a deref response control's value (a few TLVs per entry, read without pyasn1).

    pyasn1 would cost more per entry than the search it saves on a page of 1,000 people; the
    elements are walked in place (every person read carries one, one per group).
    """
    found = []
    at, end = _header(raw, 0)
    while at < end:  # DerefRes ::= SEQUENCE { derefAttr, derefValDN, attrVals [0] OPTIONAL }
        start, at = _header(raw, at)
        attribute = _header(raw, start)
        target = _header(raw, attribute[1])
        values: dict[str, list[bytes]] = {}
        listed, listed_end = _header(raw, target[1]) if target[1] < at else (at, at)
        while listed < listed_end:  # PartialAttribute ::= SEQUENCE { type, vals SET OF }
            partial, listed = _header(raw, listed)
            name = _header(raw, partial)
            value, values_end = _header(raw, name[1])
            read = []
            while value < values_end:
                value_start, value = _header(raw, value)
                read.append(raw[value_start:value])
            values[raw[slice(*name)].decode().lower()] = read
        found.append(
            Dereferenced(raw[slice(*attribute)].decode(), raw[slice(*target)].decode(), values)
        )
    return found


def post_read_entry(raw: bytes) -> dict[str, list[bytes]]:
    """Decode a post-read response control's value: the entry's attributes (RFC 4527 3.2).

    The value is a SearchResultEntry (RFC 4511 4.5.2): the DN, then each attribute's type and
    values; read here as deref_response reads its TLVs, without pyasn1.
    """
    _, attributes = _tlvs(raw, *_header(raw, 0))
    values: dict[str, list[bytes]] = {}
    for partial in _tlvs(raw, *attributes):
        name, vals = _tlvs(raw, *partial)
        values[raw[slice(*name)].decode()] = [raw[start:stop] for start, stop in _tlvs(raw, *vals)]
    return values


def _header(data: bytes, at: int) -> tuple[int, int]:
    """Return where the value of the BER element at ``at`` starts and ends."""
    length, at = data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        length, at = int.from_bytes(data[at : at + size], "big"), at + size
    return at, at + length


def _tlvs(data: bytes, start: int, stop: int) -> list[tuple[int, int]]:
    """Return the value spans of the BER elements between ``start`` and ``stop``."""
    spans = []
    while start < stop:
        span = _header(data, start)
        spans.append(span)
        start = span[1]
    return spans
