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

import re
import subprocess
import time

import pytest

from tests.support.cli import MIMS
from tests.support.ha_bridge import ScimClient, bridge_env, people, served_bridge
from tests.support.replicas import Pair, Provider, wait_in_step
from tests.support.trees import differences, report

pytestmark = pytest.mark.ha

ROUNDS = 3
MANUAL = {"automatic_after": 0.0}
# Automatic, with room: each `mims user add` of the bridge beside A renews the heartbeat, and
# one starts every second or two.
AUTOMATIC = {"automatic_after": 6.0, "heartbeat_seconds": 0.5}


def add(
    pair: Pair,
    name: str,
    inside: Provider | None,
    full_name: str,
    failover: dict[str, float] = MANUAL,
) -> subprocess.CompletedProcess[str]:
    """Run `mims user add` as bridge ``name``; inside ``inside``'s namespace when given."""
    external_id = full_name.lower().replace(" ", "-")
    command = [*MIMS, "user", "add", full_name, "--external-id", external_id]
    if inside is not None and inside.machine is not None:
        command = inside.machine.command(*command)
    env = pair.first.mims_environment(bridge_env(pair, name, **failover))
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_a_bridge_that_reaches_only_the_other_provider_never_writes_there(
    separated_pair: Pair,
) -> None:
    pair = separated_pair
    first, second = pair.first, pair.second
    target_is_first(pair)

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
        # The cut is real: nothing reached the second, and nothing was written there.
        assert [p for p in people(second) if p["external_id"].startswith("seen-")] == []
    finally:
        pair.heal()

    done = add(pair, "cut-off", second, "Seen One Delta")
    assert done.returncode == 0, done.stderr  # through the link again, to the first provider
    wait_in_step(first, second)
    held = [p for p in people(second) if p["external_id"].startswith("seen-")]
    assert len(held) == ROUNDS + 1
    assert {person["writer"] for person in held} == {"first"}
    found = differences(first.slapd, second.slapd)
    assert found == [], report(found)


def test_a_bridge_cut_off_from_the_target_does_not_promote_while_the_peer_hears_it(
    separated_pair: Pair,
) -> None:
    """Automatic mode, the providers' link intact: the bridge in the root namespace loses the
    first provider (its answers to the root namespace are dropped), the bridge inside the
    first's namespace reaches both and keeps writing there. The second provider still hears
    the first's heartbeat, so the cut-off bridge never promotes: its writes fail until its
    path heals, then land on the first. Nothing is ever written by the second."""
    pair = separated_pair
    first, second = pair.first, pair.second
    assert first.machine is not None
    target_is_first(pair)
    with served_bridge(pair, "root-side", quarantine_seconds=1.0, **AUTOMATIC) as served:
        scim = ScimClient(served, patience=60)
        assert scim.post_user("apart-0", "Apart Zero") is not None  # its heartbeat, too
        lose = ["route", "add", "blackhole", f"{first.machine.root_end}/32"]
        subprocess.run(["ip", "-n", first.machine.namespace, *lose], check=True)
        try:
            refused = []
            end = time.monotonic() + 2 * AUTOMATIC["automatic_after"] + 2
            n = 0
            while time.monotonic() < end:
                n += 1
                done = add(pair, "a-side", first, f"Beside A {spelled(n)}", AUTOMATIC)
                assert done.returncode == 0, done.stderr
                refused.append(scim.attempt(f"apart-{n}", f"Apart {spelled(n)}"))
            assert set(refused) == {503}, refused
        finally:
            lose[1] = "del"
            subprocess.run(["ip", "-n", first.machine.namespace, *lose], check=True)
        log = served.log.read_text()
        assert re.search(r"still hears from it: not promoting", log), log[-3000:]
        assert scim.post_user("apart-back", "Apart Back") is not None

    wait_in_step(first, second)
    held = [p for p in people(second) if p["external_id"].startswith(("apart-", "beside-a-"))]
    assert {person["writer"] for person in held} == {"first"}
    assert {p["external_id"] for p in held} >= {"apart-0", "apart-back"}
    assert not {p["external_id"] for p in held} & {f"apart-{k}" for k in range(1, n + 1)}
    found = differences(first.slapd, second.slapd)
    assert found == [], report(found)


SPELLED = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Fox", "Golf", "Hotel", "India", "Juliet")


def spelled(number: int) -> str:
    """Return a number in words (names with digits would all share one login ID stem)."""
    return " ".join(SPELLED[int(digit)] for digit in str(number))


def target_is_first(pair: Pair) -> None:
    """Make the first provider the write target, by `mims failover promote`, unless it is."""
    env = pair.first.mims_environment(bridge_env(pair, "admin", **MANUAL))
    shown = subprocess.run(
        [*MIMS, "failover", "status"], capture_output=True, text=True, env=env
    ).stdout
    named = rf"^{re.escape(pair.first.url)}: WRITE TARGET, names {re.escape(pair.first.url)} "
    if not re.search(named + r"\(epoch [1-9]", shown, re.M):
        promoted = subprocess.run(
            [*MIMS, "failover", "promote", pair.first.url], capture_output=True, text=True, env=env
        )
        assert promoted.returncode == 0, promoted.stderr
    wait_in_step(pair.first, pair.second)
