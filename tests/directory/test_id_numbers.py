"""uidNumbers and gidNumbers: distinct across processes, never reused, a clear end of range."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.core.posix import DEFAULT_RULES, IdRange, PosixRules
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.id_numbers import IdNumbers
from bridge.directory.settings import client_settings
from bridge.errors import NumbersExhausted
from tests.support.directory import SUFFIX, make_config

PROCESSES = 6
EACH = 15
BLOCK = 10


def _take(args: tuple[str, int, multiprocessing.synchronize.Barrier]) -> list[int]:
    data_dir, port, barrier = args
    config = make_config(Path(data_dir), port=port)
    numbers = IdNumbers(LdapClient(client_settings(config)), config.directory.suffix, DEFAULT_RULES)
    barrier.wait()  # everybody starts together
    taken: list[int] = []
    for _ in range(EACH):
        taken.append(numbers.uid_number())
        taken += list(numbers.allocate("uid", BLOCK))
    return taken


def test_processes_taking_numbers_at_once_never_share_one(
    config: Config, directory: LdapClient
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        jobs = [(str(config.slapd.data_dir), config.slapd.port, barrier)] * PROCESSES
        with context.Pool(PROCESSES) as pool:
            results = pool.map(_take, jobs)
    numbers = [n for taken in results for n in taken]
    assert len(numbers) == PROCESSES * EACH * (1 + BLOCK)
    assert len(set(numbers)) == len(numbers)
    assert all(n in DEFAULT_RULES.uid_numbers for n in numbers)


def test_a_block_is_consecutive_and_the_next_take_follows_it(directory: LdapClient) -> None:
    numbers = IdNumbers(directory, SUFFIX, DEFAULT_RULES)
    block = numbers.allocate("gid", 5)
    assert len(block) == 5 and block.step == 1
    assert numbers.allocate("gid")[0] >= block.stop
    assert all(n in DEFAULT_RULES.gid_numbers for n in block)


def test_uid_and_gid_counters_are_separate(directory: LdapClient) -> None:
    numbers = IdNumbers(directory, SUFFIX, DEFAULT_RULES)
    assert numbers.uid_number() in DEFAULT_RULES.uid_numbers
    assert numbers.allocate("gid")[0] in DEFAULT_RULES.gid_numbers


def test_a_used_up_range_is_refused_naming_the_setting(directory: LdapClient) -> None:
    numbers = IdNumbers(directory, SUFFIX, DEFAULT_RULES)
    last_taken = numbers.uid_number()
    narrow = PosixRules(uid_numbers=IdRange(1000, last_taken + 2, "[posix] uid_number_max"))
    small = IdNumbers(directory, SUFFIX, narrow)
    assert list(small.allocate("uid", 2)) == [last_taken + 1, last_taken + 2]
    with pytest.raises(NumbersExhausted, match=r"raise \[posix\] uid_number_max"):
        small.uid_number()
    with pytest.raises(NumbersExhausted):  # and it stays refused: nothing is handed out twice
        small.allocate("uid", 1)
    assert numbers.uid_number() > last_taken + 2


def test_a_range_that_starts_above_the_counter_is_jumped_to(directory: LdapClient) -> None:
    numbers = IdNumbers(directory, SUFFIX, DEFAULT_RULES)
    start = numbers.uid_number() + 1000
    moved = PosixRules(uid_numbers=IdRange(start, start + 100, "[posix] uid_number_max"))
    assert IdNumbers(directory, SUFFIX, moved).uid_number() == start
    assert numbers.uid_number() == start + 1


def test_a_new_directory_starts_with_the_counter_at_the_ranges_starts(
    admin: ldap3.Connection,
) -> None:
    admin.search(
        dn.id_numbers_dn(SUFFIX),
        "(objectClass=mimsIdNumbers)",
        ldap3.BASE,
        attributes=["mimsNextUidNumber", "mimsNextGidNumber"],
    )
    entry = admin.entries[0]
    assert int(entry.mimsNextUidNumber.value) >= DEFAULT_RULES.uid_numbers.first
    assert int(entry.mimsNextGidNumber.value) >= DEFAULT_RULES.gid_numbers.first
