"""LDAP messages on the wire for the password service: framing, decoding, and the replies.

Just enough of RFC 4511 for ``password_service.py``: one BER-framed ``LDAPMessage`` read at a
time (definite lengths only, refused above a size limit before it is read), decoded with
pyasn1 against the ASN.1 classes ldap3 ships (``ldap3.protocol.rfc4511``, ``rfc3062``), and
the few responses the service sends, encoded the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ldap3.protocol import rfc4511
from ldap3.protocol.rfc3062 import PasswdModifyRequestValue
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error

SEQUENCE_TAG = 0x30
NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"  # RFC 4511 section 4.4.1

# Result codes (RFC 4511 appendix A).
SUCCESS = 0
OPERATIONS_ERROR = 1
PROTOCOL_ERROR = 2
AUTH_METHOD_NOT_SUPPORTED = 7
UNAVAILABLE_CRITICAL_EXTENSION = 12
CONSTRAINT_VIOLATION = 19
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS_RIGHTS = 50
UNAVAILABLE = 52
UNWILLING_TO_PERFORM = 53
OTHER = 80

# The response each request that has one is answered with.
RESPONSES = {
    "bindRequest": "bindResponse",
    "searchRequest": "searchResDone",
    "modifyRequest": "modifyResponse",
    "addRequest": "addResponse",
    "delRequest": "delResponse",
    "modDNRequest": "modDNResponse",
    "compareRequest": "compareResponse",
    "extendedReq": "extendedResp",
}


class ProtocolError(Exception):
    """Bytes that are not an LDAP message this service reads: the connection is closed."""


@dataclass(frozen=True)
class Request:
    """One decoded request: its id, the operation's name and value, its controls."""

    message_id: int
    operation: str
    value: object
    critical_controls: tuple[str, ...]


@dataclass(frozen=True)
class PasswordModify:
    """The value of a Password Modify request (RFC 3062 section 2); None where absent."""

    identity: str | None
    old: str | None
    new: str | None


async def read_frame(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    """Return the next whole message's bytes, or None when the client closed cleanly.

    Raise ProtocolError for a message that is not a SEQUENCE, uses an indefinite length or
    is larger than ``limit`` bytes (refused from its header, before the body is read).
    """
    try:
        head = await reader.readexactly(2)
    except asyncio.IncompleteReadError as closed:
        if not closed.partial:
            return None
        raise ProtocolError("message cut short") from None
    if head[0] != SEQUENCE_TAG:
        raise ProtocolError("not an LDAP message")
    first = head[1]
    extra = b""
    if first < 0x80:
        length = first
    elif first == 0x80 or first & 0x7F > 4:
        raise ProtocolError("indefinite or oversized length")
    else:
        extra = await reader.readexactly(first & 0x7F)
        length = int.from_bytes(extra, "big")
    if len(head) + len(extra) + length > limit:
        raise ProtocolError("message too large")
    body = await reader.readexactly(length)
    return head + extra + body


def decode(frame: bytes) -> Request:
    """Decode one framed LDAPMessage; ProtocolError if it is not a valid one."""
    try:
        message, rest = decoder.decode(frame, asn1Spec=rfc4511.LDAPMessage())
        if rest:
            raise ProtocolError("trailing bytes")
        operation = message["protocolOp"].getName()
        value = message["protocolOp"].getComponent()
        critical = []
        if message["controls"].isValue:
            for control in message["controls"]:
                if bool(control["criticality"]):
                    critical.append(str(control["controlType"]))
        return Request(int(message["messageID"]), operation, value, tuple(critical))
    except (PyAsn1Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise ProtocolError("undecodable message") from error


def text(value: object) -> str:
    """Return an OCTET STRING's value as text (UTF-8); ProtocolError if it is not UTF-8."""
    try:
        raw: bytes = bytes(value)  # type: ignore[call-overload]
        return raw.decode("utf-8")
    except (UnicodeDecodeError, TypeError, PyAsn1Error) as error:
        raise ProtocolError("not UTF-8") from error


def password_modify(value: bytes | None) -> PasswordModify:
    """Decode a Password Modify request value (absent: every field absent)."""
    if not value:
        return PasswordModify(None, None, None)
    try:
        fields, rest = decoder.decode(value, asn1Spec=PasswdModifyRequestValue())
    except (PyAsn1Error, ValueError, TypeError) as error:
        raise ProtocolError("undecodable password modify value") from error
    if rest:
        raise ProtocolError("trailing bytes")

    def optional(name: str) -> str | None:
        return text(fields[name]) if fields[name].isValue else None

    return PasswordModify(optional("userIdentity"), optional("oldPasswd"), optional("newPasswd"))


def result(
    message_id: int, response: str, code: int, words: str = "", name: str | None = None
) -> bytes:
    """Return an encoded response of kind ``response`` with a result code and message."""
    kinds = {
        "bindResponse": rfc4511.BindResponse,
        "searchResDone": rfc4511.SearchResultDone,
        "modifyResponse": rfc4511.ModifyResponse,
        "addResponse": rfc4511.AddResponse,
        "delResponse": rfc4511.DelResponse,
        "modDNResponse": rfc4511.ModifyDNResponse,
        "compareResponse": rfc4511.CompareResponse,
        "extendedResp": rfc4511.ExtendedResponse,
    }
    body = kinds[response]()
    body["resultCode"] = code
    body["matchedDN"] = ""
    body["diagnosticMessage"] = words
    if name is not None:
        body["responseName"] = name
    return _message(message_id, response, body)


def entry(message_id: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
    """Return an encoded SearchResultEntry."""
    body = rfc4511.SearchResultEntry()
    body["object"] = dn
    values = body["attributes"]
    for index, (name, vals) in enumerate(attributes.items()):
        attribute = values.getComponentByPosition(index)
        attribute["type"] = name
        for position, value in enumerate(vals):
            attribute["vals"].setComponentByPosition(position, value)
    return _message(message_id, "searchResEntry", body)


def notice_of_disconnection(words: str) -> bytes:
    """Return the unsolicited notice a server sends before it closes (RFC 4511 4.4.1)."""
    return result(0, "extendedResp", PROTOCOL_ERROR, words, NOTICE_OF_DISCONNECTION)


def _message(message_id: int, kind: str, body: object) -> bytes:
    message = rfc4511.LDAPMessage()
    message["messageID"] = message_id
    operation = rfc4511.ProtocolOp()
    operation[kind] = body
    message["protocolOp"] = operation
    return bytes(encoder.encode(message))
