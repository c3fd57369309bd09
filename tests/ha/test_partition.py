"""A real partition between the two providers: writes on one side, then the link heals (issue 21).

Each provider runs in a network namespace of its own; the link between them is cut (packets
silently lost, connections hang), people are added and changed through the bridge's core on
the first, the link heals, and both trees must then be equal entry by entry.
"""

from __future__ import annotations

import time

import ldap3

from bridge.core.people import NewPerson, PersonChange
from tests.support.directory import admin_connection
from tests.support.replicas import Pair, Provider, wait_in_step
from tests.support.trees import differences, report

PASSWORD = "Partition-Proof-2026"
CUT_FOR = 1.5  # seconds the link stays cut after the writes: long against the ms of replication


def has_person(provider: Provider, person_id: str) -> bool:
    with admin_connection(provider.slapd) as connection:
        connection.search(
            f"ou=people,{provider.slapd.suffix}",
            f"(entryUUID={ldap3.utils.conv.escape_filter_chars(person_id)})",
            attributes=["1.1"],
        )
        return bool(connection.response)


def test_writes_on_one_side_of_a_cut_reach_the_other_when_it_heals(separated_pair: Pair) -> None:
    first, second = separated_pair.first, separated_pair.second
    with first.bridge() as backend:
        people = backend.services.people
        known = people.create(NewPerson(full_name="Before The Cut", role="student"))
        wait_in_step(first, second)

        separated_pair.cut()
        try:
            added = [
                people.create(
                    NewPerson(full_name=f"Cut Off {n}", role="student", password=PASSWORD)
                )
                for n in ("Alpha", "Bravo", "Charlie")
            ]
            people.update(known.id, PersonChange(school="Clementi Primary School", level="P5"))
            people.update(added[0].id, PersonChange(class_name="5A"), locked=True)
            people.delete(added[2].id)
            deadline = time.monotonic() + CUT_FOR
            while time.monotonic() < deadline:  # the cut is real: nothing gets through
                assert not has_person(second, added[1].id)
                time.sleep(0.1)
            assert first.context_csn() != second.context_csn()
        finally:
            separated_pair.heal()

    wait_in_step(first, second)
    assert has_person(second, added[1].id)
    assert not has_person(second, added[2].id)
    found = differences(first.slapd, second.slapd)
    assert found == [], report(found)
