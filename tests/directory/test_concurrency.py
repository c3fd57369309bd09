"""Namesakes created at the same moment by several processes still get distinct login IDs."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.settings import client_settings
from tests.support.directory import make_config

PROCESSES = 8
EACH = 5


def _create(args: tuple[str, int, int, multiprocessing.synchronize.Barrier]) -> list[str]:
    data_dir, port, worker, barrier = args
    config = make_config(Path(data_dir), port=port)
    people = PeopleStore(
        LdapClient(client_settings(config)), config.directory.suffix, config.naming.domains
    )
    barrier.wait()  # everybody starts together
    made = []
    for n in range(EACH):
        person = NewPerson(full_name="Jon Tan", role="student", external_id=f"P{worker}-{n}")
        made.append(str(people.create(person).login_id))
    return made


def test_eight_processes_creating_the_same_name_get_distinct_ids(
    config: Config, directory: LdapClient
) -> None:
    port = config.slapd.port
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        jobs = [(str(config.slapd.data_dir), port, w, barrier) for w in range(PROCESSES)]
        with context.Pool(PROCESSES) as pool:
            results = pool.map(_create, jobs)
    ids = [login for made in results for login in made]
    assert len(ids) == PROCESSES * EACH
    assert len(set(ids)) == len(ids)
    expected = {"jon_tan@students.edu.sg"} | {
        f"jon_tan_{n}@students.edu.sg" for n in range(1, len(ids))
    }
    assert set(ids) == expected  # no gaps: every suffix from _1 up was taken exactly once
