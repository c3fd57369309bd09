"""The password policy response control (draft-behera-ldap-password-policy section 6.2).

ldap3 sends controls but does not decode this one, so it is decoded here from its BER value:
    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1] INTEGER }
            OPTIONAL,
        error   [1] ENUMERATED { passwordExpired (0), accountLocked (1), changeAfterReset (2),
            passwordModNotAllowed (3), mustSupplyOldPassword (4), insufficientPasswordQuality (5),
            passwordTooShort (6), passwordTooYoung (7), passwordInHistory (8), ... } OPTIONAL }
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OID = "1.3.6.1.4.1.42.2.27.8.5.1"
REQUEST = (OID, False, None)

ERRORS = {
    0: "passwordExpired",
    1: "accountLocked",
    2: "changeAfterReset",
    3: "passwordModNotAllowed",
    4: "mustSupplyOldPassword",
    5: "insufficientPasswordQuality",
    6: "passwordTooShort",
    7: "passwordTooYoung",
    8: "passwordInHistory",
    9: "passwordTooLong",
}


def error(result: Mapping[str, Any]) -> str | None:
    """Return the ppolicy error name in an ldap3 result, or None when there is none."""
    control = (result.get("controls") or {}).get(OID)
    if not control or not control.get("value"):
        return None
    return _decode_error(bytes(control["value"]))


def _decode_error(value: bytes) -> str | None:
    """Read the [1] ENUMERATED out of the SEQUENCE; skip the optional [0] warning."""
    if len(value) < 2 or value[0] != 0x30:
        return None
    index, end = _content(value, 0)
    while index < end:
        tag = value[index]
        start, stop = _content(value, index)
        if tag == 0x81:  # [1] error, primitive, implicit ENUMERATED
            code = int.from_bytes(value[start:stop], "big", signed=True)
            return ERRORS.get(code, f"unknown({code})")
        index = stop
    return None


def _content(value: bytes, index: int) -> tuple[int, int]:
    """Return where the content of the TLV at ``index`` starts and ends (definite lengths)."""
    length = value[index + 1]
    start = index + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(value[start : start + size], "big")
        start += size
    return start, start + length
