"""LDAP controls ldap3 has no helpers for, encoded with pyasn1 (which ldap3 depends on).

- Server-side sort, RFC 2891: request 1.2.840.113556.1.4.473, response ...474.
- Virtual list view, draft-ietf-ldapext-ldapv3-vlv-09: request 2.16.840.1.113730.3.4.9,
  response ...4.10.
- Assertion, RFC 4528: 1.3.6.1.1.12, whose value is a BER-encoded search filter.
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

Control = tuple[str, bool, bytes]


def _context(number: int, constructed: bool = False) -> tag.Tag:
    form = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, form, number)


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
