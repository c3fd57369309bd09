"""One write target for every bridge, moved by `mims failover promote` (issue 21).

Two real providers replicating both ways (tests/support/write_pair.py) and several "bridges"
(LdapClients) listing both. Which provider took a write is read from the entry's entryCSN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import ldap3
import pytest

from bridge.directory import dn
from bridge.errors import DirectoryUnavailable
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.write_pair import Pair, add_entry, replicated_pair, written_by


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with replicated_pair() as made:
        yield made


def counter(pair: Pair, attribute: str) -> int:
    with admin_connection(pair.second.slapd) as admin:
        entry = dn.id_numbers_dn(SUFFIX)
        admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
        return int(admin.response[0]["raw_attributes"][attribute][0])


def promote(pair: Pair, url: str, *flags: str) -> tuple[int, str, str]:
    done = mims("failover", "promote", url, *flags, env=pair.env())
    return done.returncode, done.stdout, done.stderr


def status(pair: Pair) -> str:
    done = mims("failover", "status", env=pair.env())
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bridges_write_to_the_target_alone_and_follow_a_promotion(pair: Pair) -> None:
    one, two = pair.bridge(), pair.bridge()
    entries = [add_entry(one, "before-one"), add_entry(two, "before-two")]
    pair.wait_in_step()
    # No write-target entry yet: the first configured URL takes every write.
    assert [written_by(pair.second.slapd, e) for e in entries] == ["first", "first"]
    assert re.search(rf"^{re.escape(pair.first.url)}: WRITE TARGET", status(pair), re.M)
    uids = counter(pair, "mimsNextUidNumber")

    code, out, err = promote(pair, pair.second.url)

    assert (code, err) == (0, ""), err
    assert f"write target: {pair.second.url} (epoch 1)" in out
    assert counter(pair, "mimsNextUidNumber") >= uids + 1000
    entries = [add_entry(one, "after-one"), add_entry(two, "after-two")]
    pair.wait_in_step()
    assert [written_by(pair.first.slapd, e) for e in entries] == ["second", "second"]
    assert re.search(rf"^{re.escape(pair.second.url)}: WRITE TARGET", status(pair), re.M)

    code, out, err = promote(pair, pair.first.url)  # fail back once caught up
    assert (code, err) == (0, ""), err
    entry = add_entry(one, "failed-back")
    assert written_by(pair.first.slapd, entry) == "first"


def test_promote_refuses_a_candidate_that_is_behind(pair: Pair) -> None:
    target = pair.bridge()
    add_entry(target, "target-known")
    pair.wait_in_step()
    with admin_connection(pair.second.slapd) as admin:  # the second stops pulling changes
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcSyncrepl"])
        database = admin.entries[0].entry_dn
        pulls = [str(v) for v in admin.entries[0].olcSyncrepl.values]
        admin.modify(database, {"olcSyncrepl": [(ldap3.MODIFY_DELETE, [])]})
    try:
        add_entry(target, "not-on-the-second")
        code, out, err = promote(pair, pair.second.url)
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and "behind" in err, err
        assert "epoch" not in out
    finally:
        with admin_connection(pair.second.slapd) as admin:
            admin.modify(database, {"olcSyncrepl": [(ldap3.MODIFY_ADD, pulls)]})
    pair.wait_in_step()
    assert written_by(pair.first.slapd, add_entry(target, "still-first")) == "first"


def test_a_bridge_that_cannot_confirm_the_target_writes_nowhere(pair: Pair) -> None:
    code, _, err = promote(pair, pair.second.url)
    assert code == 0, err
    pair.wait_in_step()
    blind = pair.bridge(quarantine_seconds=600)
    add_entry(blind, "blind-sees-the-second")
    blind.servers.failed(pair.second.url)  # its view: only the first answers
    # The first's copy names the second, which this bridge cannot reach: no write anywhere.
    with pytest.raises(DirectoryUnavailable):
        add_entry(blind, "never-written")
    with admin_connection(pair.first.slapd) as admin:
        assert not admin.search(SUFFIX, "(cn=never-written)", attributes=["cn"])
    assert blind.try_bind(pair.first.slapd.service_dn, blind.settings.password, [])["result"] == 0
    code, _, err = promote(pair, pair.first.url)
    assert code == 0, err
