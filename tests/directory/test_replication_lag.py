"""The lag `mims slapd status` shows: contextCSNs compared serverID by serverID (issue 21).

Plain values: the CSNs two servers would hold; the servers themselves are in
test_replication.py.
"""

from __future__ import annotations

import pytest

from bridge.directory.replication import Peer, compare
from bridge.errors import SlapdError

PEER = Peer("ldaps://ldap2.example.edu.sg:1636")


def csn(time: str, server_id: int) -> str:
    return f"20261205{time}Z#000000#{server_id:03x}#000000"


def test_equal_context_csns_are_in_step_with_no_lag() -> None:
    both = [csn("204012.345678", 1), csn("204013.000001", 2)]

    lag = compare(PEER, both, list(reversed(both)))

    assert lag.in_step
    assert lag.lag_seconds == 0.0
    assert [server.behind_seconds for server in lag.servers] == [0.0, 0.0]


def test_the_lag_is_the_largest_gap_of_any_server_id_either_way() -> None:
    ours = [csn("204012.500000", 1), csn("204013.000000", 2)]
    theirs = [csn("204010.250000", 1), csn("204013.750000", 2)]

    lag = compare(PEER, ours, theirs)

    assert not lag.in_step
    assert [(s.server_id, s.behind_seconds) for s in lag.servers] == [(1, 2.25), (2, -0.75)]
    assert lag.lag_seconds == 2.25


def test_a_server_id_one_side_has_never_seen_leaves_the_lag_unknown() -> None:
    ours = [csn("204012.000000", 1), csn("204013.000000", 18)]  # serverID 18 is 012 in hex

    lag = compare(PEER, ours, [csn("204012.000000", 1)])

    assert not lag.in_step
    assert lag.lag_seconds is None
    (missing,) = [server for server in lag.servers if server.theirs is None]
    assert missing.server_id == 18


def test_a_value_that_is_not_a_csn_is_refused_in_one_line() -> None:
    with pytest.raises(SlapdError, match="is not a change sequence number"):
        compare(PEER, ["yesterday"], [])
