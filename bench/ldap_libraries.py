"""ldap3 against python-ldap on the bridge's own paths: why the bridge keeps both libraries.

``python -m bench.ldap_libraries [--people N] [--reads N] [--rounds R]`` starts a private
managed slapd in a temp folder, creates N people through the bridge (with their school, level
and class groups), then measures on one ldapi connection per library, alternating the two
sides in R rounds:

- a read: the lookup SCIM clients make before every write (``mail`` equals, the person's
  attributes, group and manager links resolved by the deref control), through
  ``lookup.entries`` (python-ldap) and through the same search on ldap3;
- an add: the entries the importer adds, one request and its answer at a time on each
  library, and pipelined on python-ldap (``BulkWriter``, what ``mims import`` does).

It prints a Markdown table of the medians: wall time and CPU time of this process per
operation (the CPU column is what the library itself costs; slapd's work is in the wall time
of both sides alike).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldap3 import SUBTREE, Connection

from bridge.config import load_config
from bridge.core.people import NewPerson
from bridge.directory import dn, lookup, mapping
from bridge.directory.bulk import BulkWriter
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings, ensure_running, managed_slapd
from bridge.directory.slapd import free_port
from bridge.services import build

Timing = tuple[float, float]  # (wall ms, CPU ms) per operation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--adds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mims-libs-") as folder:
        root = Path(folder)
        env = {
            "HOME": str(root),
            "MIMS_DATA_DIR": str(root / "data"),
            "MIMS_LDAP_PORT": str(free_port()),
            "MIMS_LDAPS_PORT": str(free_port()),
        }
        config = load_config(env=env).with_overrides(slapd={"no_sync": True})
        ensure_running(config)
        try:
            rows = measure(config, args.people, args.reads, args.adds, args.rounds)
        finally:
            managed_slapd(config).stop()
    print("| operation | ldap3 wall | python-ldap wall | ldap3 CPU | python-ldap CPU | CPU ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (ldap3_wall, ldap3_cpu), (libldap_wall, libldap_cpu) in rows:
        print(
            f"| {name} | {ldap3_wall:.3f} ms | {libldap_wall:.3f} ms | {ldap3_cpu:.3f} ms "
            f"| {libldap_cpu:.3f} ms | {ldap3_cpu / libldap_cpu:.1f}x |"
        )


def measure(
    config: Any, people: int, reads: int, adds: int, rounds: int
) -> list[tuple[str, Timing, Timing]]:
    client = LdapClient(client_settings(config))
    services = build(config, client)
    services.passwords.sync_policies()
    logins = [
        str(
            services.people.create(
                NewPerson(
                    full_name=f"Person {i:05d}",
                    role="student",
                    school="Rivervale Primary",
                    level="P4",
                    class_name=f"4{'ABCDE'[i % 5]}",
                    external_id=f"S{i:07d}",
                )
            ).login_id
        )
        for i in range(people)
    ]
    base = dn.people_base(config.directory.suffix)
    wanted = [f"(&(objectClass=mimsPerson){dn.equals('mail', login)})" for login in logins]

    def read_libldap(i: int) -> None:
        found = lookup.entries(
            client, base, wanted[i % people], mapping.PERSON_READ, [mapping.RESOLVE_LINKS]
        )
        mapping.to_person(found[0])

    def read_ldap3(i: int) -> None:
        def search(connection: Connection) -> dict[str, Any]:
            connection.search(
                base,
                wanted[i % people],
                SUBTREE,
                attributes=mapping.PERSON_READ,
                controls=[mapping.RESOLVE_LINKS],
            )
            return dict(connection.response[0])

        mapping.to_person(client.run(search))

    made = [0]

    def new_entries(count: int) -> list[tuple[str, dict[str, list[str]]]]:
        drafts = []
        for _ in range(count):
            made[0] += 1
            person = NewPerson(
                full_name=f"Added {made[0]:07d}", role="staff", external_id=f"A{made[0]:07d}"
            )
            draft = services.people.draft(person)
            number = services.people.ids.uid_number()
            drafts.append(services.people.first_choice(services.people.numbered(draft, number)))
        return drafts

    def add_ldap3(entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        for entry, attributes in entries:
            client.add(entry, attributes)

    def add_libldap(entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        for entry, attributes in entries:
            modlist = [(k, [v.encode() for v in vs]) for k, vs in attributes.items()]
            client.libldap.run(lambda c, e=entry, m=modlist: c.add_ext_s(e, m), retry=False)

    bulk = BulkWriter(client)

    def add_pipelined(entries: list[tuple[str, dict[str, list[str]]]]) -> None:
        assert not any(bulk.add_all(entries))

    read_ldap3(0)  # connect both before timing
    read_libldap(0)
    rows = [("read one person (deref)", *alternate(read_ldap3, read_libldap, reads, rounds))]
    add_ldap3_timing, add_one_timing = alternate_batches(
        add_ldap3, add_libldap, new_entries, adds, rounds
    )
    rows.append(("add one person, wait for the answer", add_ldap3_timing, add_one_timing))
    _, pipelined = alternate_batches(add_ldap3, add_pipelined, new_entries, adds, rounds)
    rows.append(("add people, pipelined (python-ldap only)", add_ldap3_timing, pipelined))
    client.close()
    return rows


def alternate(
    first: Callable[[int], None], second: Callable[[int], None], count: int, rounds: int
) -> tuple[Timing, Timing]:
    """Time ``count`` calls of each, alternating sides in rounds; return each side's medians."""
    seen: tuple[list[Timing], list[Timing]] = ([], [])
    for _ in range(rounds):
        for side, operation in enumerate((first, second)):
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(count):
                operation(i)
            seen[side].append(per_operation(wall, cpu, count))
    return medians(seen[0]), medians(seen[1])


def alternate_batches(
    first: Callable[[Any], None],
    second: Callable[[Any], None],
    entries: Callable[[int], Any],
    count: int,
    rounds: int,
) -> tuple[Timing, Timing]:
    """Like ``alternate``, for writes: each side adds its own fresh ``count`` entries."""
    seen: tuple[list[Timing], list[Timing]] = ([], [])
    for _ in range(rounds):
        for side, operation in enumerate((first, second)):
            batch = entries(count)
            wall, cpu = time.perf_counter(), time.process_time()
            operation(batch)
            seen[side].append(per_operation(wall, cpu, count))
    return medians(seen[0]), medians(seen[1])


def per_operation(wall: float, cpu: float, count: int) -> Timing:
    return (
        (time.perf_counter() - wall) * 1000 / count,
        (time.process_time() - cpu) * 1000 / count,
    )


def medians(timings: list[Timing]) -> Timing:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


if __name__ == "__main__":
    sys.exit(main())
