"""/Bulk (RFC 7644 section 3.7), to come."""

from __future__ import annotations

MAX_OPERATIONS = 1000
MAX_PAYLOAD = 1_048_576
