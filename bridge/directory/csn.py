"""Change sequence numbers (CSNs): when a change was made and by which serverID.

slapd stamps every write with an entryCSN, ``YYYYmmddHHMMSS.ffffffZ#count#sid#mod``, and keeps
the newest one per serverID in the suffix entry's contextCSN. Two servers are in step when
they hold the same contextCSN; how far one is behind is the difference of those times, one
serverID at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.errors import SlapdError

_TIME_FORMAT = "%Y%m%d%H%M%S.%fZ"


@dataclass(frozen=True)
class Csn:
    """One change sequence number, read."""

    text: str
    time: datetime
    server_id: int


def parse(text: str) -> Csn:
    """Read a CSN, or refuse it in one line."""
    parts = text.split("#")
    try:
        if len(parts) != 4:
            raise ValueError(text)
        when = datetime.strptime(parts[0], _TIME_FORMAT).replace(tzinfo=UTC)
        return Csn(text, when, int(parts[2], 16))  # the serverID is written in hexadecimal
    except ValueError:
        raise SlapdError(f"{text!r} is not a change sequence number (CSN)") from None


def by_server(values: Iterable[str]) -> dict[int, Csn]:
    """Return a contextCSN's values by serverID (one value per serverID)."""
    found = [parse(value) for value in values]
    return {csn.server_id: csn for csn in sorted(found, key=lambda csn: csn.server_id)}


def seconds_behind(ours: Csn, theirs: Csn) -> float:
    """Return how many seconds ``theirs`` is older than ``ours`` (negative: newer)."""
    return (ours.time - theirs.time).total_seconds()
