"""kill -9 of the provider an import writes to, then the import run again (issue 21).

`mims import` (a real process, its directory the first provider) loads a roster; the first
provider is killed with SIGKILL a third of the way in, started again, and the same import
run again: it finishes, every person of the roster is there once, no login ID is taken
twice, and both providers' trees are equal entry by entry. Two divergences slapd itself
causes are known (docs/high-availability.md): the killed provider's id-number counters end
ahead (checked to be ahead, never behind), and an add or two the killed provider committed
just before the kill may never reach its peer (plain syncrepl: 1 of 10,000 in 2 of 4 runs;
delta-syncrepl lost 26 to 30). Up to ``KILL_LOSS`` such adds make the test an expected
failure, with the entries named; more, or any other difference, fail it. Without a kill
nothing may be missing at all (delta-syncrepl lost 43 to 47 adds of 10,000 there).

The 10,000-person runs are marked ``ha`` (`make test-ha`); a 500-person one runs in `make test`.
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections import Counter
from pathlib import Path

import ldap3
import pytest

from tests.support.cli import MIMS
from tests.support.directory import SUFFIX, admin_connection
from tests.support.replicas import Pair, Provider, replicated_pair, wait_in_step
from tests.support.trees import differences, report

KILL_AT = 1 / 3  # of the roster's rows
# The id-number counters' entry: slapd can replay the killed provider's last increments on
# it after its restart (see assert_counters_only_ahead and the xfail test below).
COUNTERS = f"cn=id-numbers,ou=services,{SUFFIX}"
# Adds the killed provider committed that its peer never receives, although both then show
# the same contextCSN (docs/high-availability.md): plain syncrepl lost 1 in 2 of 4
# 10,000-person runs; more than this is a regression (delta-syncrepl lost 26 to 30).
LOST = "only on the first: "
KILL_LOSS = 3


def roster(provider: Provider, folder: Path, people: int) -> list[str]:
    """Write a demo roster of ``people`` rows; return their external IDs, in order."""
    path = folder / f"roster-{people}.csv"
    done = provider.mims("demo", "--people", str(people), "--out", str(path))
    assert done.returncode == 0, done.stderr
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["external_id"] for row in csv.DictReader(handle)]


def has_external_id(provider: Provider, external_id: str) -> bool:
    with admin_connection(provider.slapd) as connection:
        connection.search(
            f"ou=people,{provider.slapd.suffix}",
            f"(mimsExternalId={ldap3.utils.conv.escape_filter_chars(external_id)})",
            attributes=["1.1"],
        )
        return bool(connection.response)


def people_of(provider: Provider) -> list[tuple[str, str]]:
    """Return (external ID, login ID) of every person the provider holds."""
    found = []
    with admin_connection(provider.slapd) as connection:
        entries = connection.extend.standard.paged_search(
            f"ou=people,{provider.slapd.suffix}",
            "(mimsExternalId=*)",
            attributes=["mimsExternalId", "mail"],
            paged_size=1000,
            generator=True,
        )
        for entry in entries:
            values = entry.get("raw_attributes", {})
            if entry.get("type") == "searchResEntry":
                found.append((values["mimsExternalId"][0].decode(), values["mail"][0].decode()))
    return found


def import_then_kill(pair: Pair, folder: Path, people: int) -> None:
    first = pair.first
    external_ids = roster(first, folder, people)
    path = folder / f"roster-{people}.csv"
    log = (folder / f"import-{people}.log").open("w")
    environment = first.mims_environment(first.bridge_env())
    running = subprocess.Popen(
        [*MIMS, "import", str(path)], stdout=log, stderr=subprocess.STDOUT, env=environment
    )
    try:
        marker = external_ids[int(people * KILL_AT)]
        deadline = time.monotonic() + 600
        while not has_external_id(first, marker):
            assert running.poll() is None, (folder / f"import-{people}.log").read_text()
            assert time.monotonic() < deadline, "the import never got a third of the way"
            time.sleep(0.05)
        first.kill()
        assert running.wait(timeout=300) != 0, "the import finished before the kill"
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
        log.close()

    first.start()
    again = first.mims("import", str(path))
    assert again.returncode == 0, again.stderr

    held = people_of(first)
    assert Counter(e for e, _ in held) == Counter(external_ids)  # everyone, once
    logins = Counter(login for _, login in held)
    assert [login for login, count in logins.items() if count > 1] == []
    wait_in_step(first, pair.second, timeout=300)
    found = differences(first.slapd, pair.second.slapd)
    lost = [line for line in found if line.startswith(LOST)]
    others = [line for line in found if line not in lost and not line.startswith(COUNTERS)]
    assert others == [], report(found)
    assert len(lost) <= KILL_LOSS, report(found)
    assert_counters_only_ahead(first, pair.second)
    if lost:
        pytest.xfail(f"adds committed just before the kill never reached the peer: {report(lost)}")


def import_whole(pair: Pair, folder: Path, people: int) -> None:
    """Import a roster into the first provider, nothing killed: the peer gets every add."""
    external_ids = roster(pair.first, folder, people)
    done = pair.first.mims("import", str(folder / f"roster-{people}.csv"))
    assert done.returncode == 0, done.stderr
    assert len(people_of(pair.first)) == len(external_ids)
    wait_in_step(pair.first, pair.second, timeout=300)
    found = differences(pair.first.slapd, pair.second.slapd)
    assert found == [], report(found)


def counters(provider: Provider) -> dict[str, int]:
    with admin_connection(provider.slapd) as connection:
        connection.search(COUNTERS, "(objectClass=*)", ldap3.BASE, attributes=["*"])
        found = connection.response[0]["raw_attributes"]
    return {name: int(found[name][0]) for name in ("mimsNextUidNumber", "mimsNextGidNumber")}


def assert_counters_only_ahead(killed: Provider, other: Provider) -> None:
    """The one divergence a kill -9 leaves (docs/high-availability.md): the killed provider's
    id-number counters ahead of the other's, never behind (wasted numbers, not shared ones)."""
    ahead, behind = counters(killed), counters(other)
    assert all(ahead[name] >= behind[name] for name in ahead), (ahead, behind)


def test_an_import_killed_midway_finishes_when_run_again(pair: Pair, tmp_path: Path) -> None:
    import_then_kill(pair, tmp_path, 500)


@pytest.mark.ha
def test_a_10000_person_import_killed_midway_finishes_when_run_again(tmp_path: Path) -> None:
    with replicated_pair() as own:  # not the module's: the demo rosters share external IDs
        import_then_kill(own, tmp_path, 10_000)


@pytest.mark.ha
def test_a_10000_person_import_reaches_the_peer_whole(tmp_path: Path) -> None:
    with replicated_pair() as own:
        import_whole(own, tmp_path, 10_000)


@pytest.mark.ha
@pytest.mark.xfail(
    reason="seen with slapd 2.5 delta-syncrepl: a provider killed with -9 restarts with a "
    "stale contextCSN, pulls its own last changes back from its peer and applies its "
    "id-number increments twice; with plain syncrepl it passed in 4 of 4 runs, kept "
    "until more show it holds (docs/high-availability.md)",
    strict=False,
)
def test_the_id_number_counters_agree_after_a_kill(tmp_path: Path) -> None:
    with replicated_pair() as own:
        first = own.first
        path = tmp_path / "roster-50.csv"
        assert first.mims("demo", "--people", "50", "--out", str(path)).returncode == 0
        assert first.mims("import", str(path)).returncode == 0
        wait_in_step(first, own.second)
        first.kill()
        first.start()
        assert first.mims("import", str(path)).returncode == 0
        wait_in_step(first, own.second)
        assert counters(first) == counters(own.second)
