"""How deeply a JSON text nests, measured before it is parsed.

Python's parser recurses once per level: a body of ten thousand ``[`` ended in a
RecursionError (a 500) instead of a 400, and what survives parsing is walked again by the
validators. No request the bridge takes nests deeper than a few levels (a SCIM Bulk request
carrying a PATCH is about six), so bodies are refused past ``MAX_JSON_DEPTH``.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 32

# A JSON string (RFC 8259 section 7): brackets inside one do not nest anything.
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """Return the deepest nesting of arrays and objects in a JSON text (0 for a scalar)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[byte] for byte in brackets), default=0)


def too_deep(raw: bytes) -> bool:
    """Return whether a JSON text nests deeper than ``MAX_JSON_DEPTH``."""
    return json_depth(raw) > MAX_JSON_DEPTH
