"""Split brain: two bridges with different views of which provider is up (issue 21).

Each provider runs in a network namespace of its own (tests/support/netns.py). One bridge
runs `mims` from the root namespace and reaches both providers; the other runs `mims` inside
the second provider's namespace, where the first is reached only over the providers' own
link. Both list ``[directory] urls = [A, B]`` in manual mode (``automatic_after = 0``), and
the first provider is the write target (`mims failover promote`). The link between the
providers is cut: the first bridge goes on writing to the first provider; the second reaches
only the second provider, whose copy names the first, and writes nowhere (one line, exit
non-zero). Where each person landed is read from its entryCSN's serverID: nothing is ever
written by the second provider. The link heals: the second bridge's writes then land on the
first provider too, and both trees are equal entry by entry.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.cli import MIMS
from tests.support.ha_bridge import bridge_env, people
from tests.support.replicas import Pair, Provider, wait_in_step
from tests.support.trees import differences, report

pytestmark = pytest.mark.ha

ROUNDS = 3
MANUAL = {"automatic_after": 0.0}


def add(
    pair: Pair, name: str, inside: Provider | None, full_name: str
) -> subprocess.CompletedProcess[str]:
    """Run `mims user add` as bridge ``name``; inside ``inside``'s namespace when given."""
    external_id = full_name.lower().replace(" ", "-")
    command = [*MIMS, "user", "add", full_name, "--external-id", external_id]
    if inside is not None and inside.machine is not None:
        command = inside.machine.command(*command)
    env = pair.first.mims_environment(bridge_env(pair, name, **MANUAL))
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_a_bridge_that_reaches_only_the_other_provider_never_writes_there(
    separated_pair: Pair,
) -> None:
    pair = separated_pair
    first, second = pair.first, pair.second
    env = first.mims_environment(bridge_env(pair, "admin", **MANUAL))
    promoted = subprocess.run(
        [*MIMS, "failover", "promote", first.url], capture_output=True, text=True, env=env
    )
    assert promoted.returncode == 0, promoted.stderr
    wait_in_step(first, second)

    pair.cut()
    try:
        for n in ("Alpha", "Bravo", "Charlie")[:ROUNDS]:
            done = add(pair, "everywhere", None, f"Seen Both {n}")
            assert done.returncode == 0, done.stderr
            refused = add(pair, "cut-off", second, f"Seen One {n}")
            assert refused.returncode != 0, refused.stdout
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            assert "Traceback" not in refused.stderr
        assert {person["writer"] for person in people(first)} == {"first"}
        assert people(second) == []  # the cut is real: nothing reached it, nothing written there
    finally:
        pair.heal()

    done = add(pair, "cut-off", second, "Seen One Delta")
    assert done.returncode == 0, done.stderr  # through the link again, to the first provider
    wait_in_step(first, second)
    held = people(second)
    assert len(held) == ROUNDS + 1
    assert {person["writer"] for person in held} == {"first"}
    found = differences(first.slapd, second.slapd)
    assert found == [], report(found)
