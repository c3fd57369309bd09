"""Creates racing with one externalId on one slapd: the unique overlay lets only one through.

Issue 21 item 4. Several threads, each with a client of its own, create people with the same
externalId at the same moment (different names, so different DNs: only the unique overlay's
rule on mimsExternalId can refuse the others). The multi-provider case, where the overlay sees
only its own database, is not covered here.
"""

from __future__ import annotations

import threading

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.settings import client_settings
from bridge.errors import AlreadyExists
from tests.support.directory import SUFFIX

THREADS = 8
ROUNDS = 10
NAMES = ["Ali", "Bala", "Chen", "Devi", "Eng", "Farah", "Goh", "Hari"]


def _race(config: Config, external_id: str) -> list[str]:
    """Create THREADS people with one externalId at once; return what each thread got."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def create(name: str) -> None:
        client = LdapClient(client_settings(config))
        people = PeopleStore(client, config.directory.suffix, config.naming.domains)
        client.ping()  # connected before the start
        barrier.wait()
        try:
            people.create(NewPerson(full_name=name, role="student", external_id=external_id))
            outcomes.append("created")
        except AlreadyExists:
            outcomes.append("refused")
        finally:
            client.close()

    threads = [threading.Thread(target=create, args=(name,)) for name in NAMES[:THREADS]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_creates_with_one_external_id_make_one_person(
    round_: int, config: Config, directory: LdapClient, admin: ldap3.Connection
) -> None:
    external_id = f"RACE-{round_}"
    outcomes = _race(config, external_id)
    admin.search(
        f"ou=people,{SUFFIX}",
        f"(mimsExternalId={external_id})",
        ldap3.SUBTREE,
        attributes=["uid"],
    )
    assert len(admin.entries) == 1
    assert sorted(outcomes) == ["created"] + ["refused"] * (THREADS - 1)
