"""The benchmark harness runs and reports: a small smoke run, and its parts on made-up input.

How fast anything is never is a test's business (DESIGN.md); that is what `bench/run` reports.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import charts, ldif, profiling, server_profile
from bench.phases import mixed
from bench.report import Measurement, Samples, table

ROOT = Path(__file__).resolve().parent.parent
RUN = [sys.executable, str(ROOT / "bench" / "run")]


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")}
    return subprocess.run(
        [*RUN, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def our_processes(folder: Path) -> list[int]:
    """Return the PIDs of live processes whose command line, environment or folder is ``folder``.

    slapd names its data folder on its command line; `mims serve` gets it in MIMS_DATA_DIR;
    the peer server runs in a folder of it.
    """
    found = []
    for proc in Path("/proc").iterdir():
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
            seen += os.readlink(proc / "cwd").encode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(folder).encode() in seen and state != "Z":
            found.append(int(proc.name))
    return found


def phase_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a record's rows without the memory rows of each phase that the bridge served."""
    return [row for row in document["results"] if row["phase"] != "memory"]


SMOKE_PHASES = ("import", "lookup", "walk", "write", "sspr")


@pytest.mark.slow
def test_a_small_run_of_every_local_phase_prints_the_table_and_writes_the_json(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results"
    # The temp folder stays the system's: pytest's paths are too long for slapd's socket.
    only = ",".join(SMOKE_PHASES)
    done = bench(
        *("--people", "500", "--only", only, "--repeat", "1", "--results-dir", str(results)),
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("| operation ")
    for baseline in ("ldapadd", "ldap3", "slapadd -q", "ldap3 paged", "3 Argon2id verifies"):
        assert baseline in done.stdout
    assert "import 1/1: bridge" in done.stderr
    for phase in SMOKE_PHASES:
        assert f"phase {phase} done" in done.stderr

    [written] = results.glob("*-500.json")
    document = json.loads(written.read_text())
    assert {"command", "settings", "machine", "results", "table", "phases"} <= set(document)
    assert document["command"].startswith("bench/run --people 500")
    assert document["settings"]["disk_sync"] is False
    machine = document["machine"]
    assert machine["cores"] >= 1 and machine["memory_mb"] > 0
    assert "slapd 2." in machine["slapd"]
    assert machine["source_digest_start"] and machine["load_average_start"]
    assert machine["packages"]["ldap3"] and machine["packages"]["flask"]
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in document["results"]:
        rows.setdefault(row["phase"], []).append(row)
        assert row["bridge"]["median"] > 0 and row["raw"]["median"] > 0 and row["ratio"] > 0
        assert row["met"] in (True, False, None)
        assert (row["met"] is None) == (row["target"] == "-")
    assert list(rows) == [*SMOKE_PHASES, "memory"] and set(document["phases"]) == set(SMOKE_PHASES)
    # The served bridge's memory, a row per phase it served; slapd's memory and disk at the end.
    memory = rows["memory"]
    assert [row["during"] for row in memory] == list(SMOKE_PHASES[1:])
    assert all(
        row["target_max_value"] == 150.0 and row["raw_label"] == "slapd RSS" for row in memory
    )
    held = document["footprint"]
    assert held["people"] == 500 and held["slapd_rss_mb"] > 0 and held["mdb"]["entries"] > 500
    assert 0 < held["mdb"]["used_mb"] <= held["db_du_mb"] + 1

    headline, cpu, library, initial, floor = rows["import"]
    assert headline["raw_label"] == "ldapadd" and headline["target_max_ratio"] == 1.0
    assert cpu["unit"] == "CPU s" and cpu["met"] is None
    assert library["raw_label"] == "ldap3" and library["met"] is None
    assert initial["raw_label"] == "slapadd -q" and initial["target_max_ratio"] == 3.0
    assert floor["raw_label"] == "slapadd -q" and floor["met"] is None
    [repeat] = document["phases"]["import"]["repeats"]
    assert repeat["summary"]["created"] == 500
    assert repeat["same_result"] is True
    # `mims import --initial` built the directory `mims import` built, entry by entry.
    assert repeat["initial"]["same_as_online"]["differences"] == 0
    assert repeat["initial"]["same_as_online"]["entries"] > 500

    # The SCIM phases served the people the import phase made.
    assert document["population"]["source"] == "the import phase's last mims import"
    assert document["population"]["people"] == 500
    assert document["population"]["bridge"]["worker_class"] == "asgi"
    lookups = rows["lookup"]
    assert len(lookups) == 13 and all(row["unit"] == "ms" for row in lookups)
    assert lookups[-1]["raw_label"] == "ldapi"  # the TLS row: ldaps against the local socket
    assert [row["target_max_delta"] for row in lookups if row["met"] is not None] == [0.5] * 3
    walks = document["phases"]["walk"]["walks"]
    assert [walk["page_size"] for walk in walks] == [100, 1000]
    for walk in walks:
        assert walk["bridge"]["users"] == walk["raw"]["users"] == 500
        assert walk["bridge"]["complete"] and walk["bridge"]["rss"]["samples"] >= 2
    assert [r["target_max_delta"] for r in rows["walk"] if r["unit"] == "MB"] == [10.0, 10.0]
    again = [r for r in rows["walk"] if "started again" in r["operation"]]
    assert [r["target_max_value"] for r in again] == [50.0, None]
    assert all(len(w["bridge"]["first_page_again_ms"]) == 5 for w in walks)
    post, plain, with_password, patch = rows["write"]
    assert post["unit"] == "/s" and post["target_min_ratio"] == 0.5 and plain["met"] is None
    assert with_password["raw_label"].startswith("slapd's own Argon2 bound")
    assert with_password["target_min_ratio"] == 0.9 and patch["target_min_ratio"] == 0.5
    [verify] = rows["sspr"]
    assert verify["unit"] == "/s" and document["phases"]["sspr"]["people"] == 20

    # Cleaned up: no slapd or bridge left running, no temp folder left behind.
    work = Path(re.search(r" in (\S+mims-bench-\S+)", done.stderr)[1])
    assert our_processes(work) == []
    assert not work.exists()


@pytest.mark.bench
def test_a_small_peer_run_compares_with_scim2_server_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    # The first run on a machine builds the peer's venv with pip (network); later runs reuse it.
    results = tmp_path / "results"
    done = bench("--people", "200", "--only", "peer", "--results-dir", str(results), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "peer: seeded 200 users" in done.stderr and "phase peer done" in done.stderr
    [written] = results.glob("*-200.json")
    document = json.loads(written.read_text())
    rows = phase_rows(document)
    assert {row["phase"] for row in rows} == {"peer"}
    assert all(row["raw_label"] == "scim2-server" and row["raw"]["median"] > 0 for row in rows)
    targets = [(row["unit"], row["target"]) for row in rows if row["met"] is not None]
    lookups = [("ms", "<= 1x"), ("ms", "<= 1x"), ("ms", "<= 0.01x")] + [("/s", ">= 2x")] * 3
    # the POSTs, then those without a password
    assert targets == [*lookups, ("/s", ">= 1x"), ("/s", ">= 1.5x")]
    assert [row["unit"] for row in rows if row["met"] is None] == ["s", "MB", "s", "MB"]
    peer = document["phases"]["peer"]
    assert peer["seed"]["users"] == 200 and peer["seed"]["seconds"] > 0
    assert [walk["peer"]["users"] for walk in peer["walks"]] == [200, 200]
    # Without the earlier phases, the bridge's side was measured here: the population says so.
    assert document["population"]["source"] == "mims import"
    work = Path(re.search(r" in (\S+mims-bench-\S+)", done.stderr)[1])
    assert our_processes(work) == []
    assert not work.exists()


@pytest.mark.bench
def test_a_small_console_run_searches_as_both_administrators_and_checks_the_index(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results"
    done = bench("--people", "300", "--only", "console", "--results-dir", str(results))
    assert done.returncode == 0, done.stderr
    assert "phase console done" in done.stderr
    [written] = results.glob("*-300.json")
    document = json.loads(written.read_text())
    rows = phase_rows(document)
    assert {row["phase"] for row in rows} == {"console"} and len(rows) == 8
    assert all(row["raw_label"] == "ldap3, same request" and row["unit"] == "ms" for row in rows)
    assert [row["target_max_value"] for row in rows] == [50.0, None] * 4
    assert ["AdminConsole.search" in row["operation"] for row in rows] == [True] * 2 + [
        False
    ] * 2 + [True] * 2 + [False] * 2
    assert all("MIMS administrator" in row["operation"] for row in rows[:4])
    assert all("school administrator" in row["operation"] for row in rows[4:])
    console = document["phases"]["console"]
    mims, school = console["roles"]
    assert mims["bridge"]["ops"] == mims["http"]["ops"] == mims["fragments"] == 40
    assert "(cn=*" in mims["filter"] and "(o=" in school["filter"]
    assert set(console["index_check"]) == {"2", "3", "4", "5", "6"}
    two = [
        row
        for row in console["filters"]["sent"]
        if "search by part of a name, 2 letters" in row["sent_by"] and "(cn=" in row["filter"]
    ]
    assert two and all(row["served_by_index"] for row in two)  # the start of a word
    work = Path(re.search(r" in (\S+mims-bench-\S+)", done.stderr)[1])
    assert our_processes(work) == []
    assert not work.exists()


@pytest.mark.bench
def test_a_small_observability_run_compares_metrics_and_json_logs_on_against_off(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results"
    done = bench("--people", "200", "--only", "observability", "--results-dir", str(results))
    assert done.returncode == 0, done.stderr
    [written] = results.glob("*-200.json")
    document = json.loads(written.read_text())
    p50, p99, *controls = phase_rows(document)
    assert "metrics + JSON logs on vs off" in p50["operation"]
    assert p50["target_max_ratio"] == 1.03 and p99["met"] is None
    assert [row["raw_label"] for row in controls] == ["off-1", "on-1"]
    assert all(row["met"] is None for row in controls)
    assert all(len(row["round_ratios"]) == 16 for row in phase_rows(document))
    phase = document["phases"]["observability"]
    # Each bridge was what its settings say before anything was timed.
    assert phase["problems"] == [] and phase["settings_missing"] == []
    bridges = phase["bridges"]
    assert bridges["on-1"]["metrics_counted_lookups"] and bridges["on-2"]["metrics_counted_lookups"]
    assert bridges["off-1"]["metrics_status"] == bridges["off-2"]["metrics_status"] == 404
    assert bridges["on-2"]["log_json_share"] > 0.5 > bridges["off-2"]["log_json_share"]
    assert phase["on"]["ops"] == phase["off"]["ops"] == 2 * 400


def test_a_tiny_ha_run_measures_lag_and_catch_up_on_a_replicated_pair(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = bench(
        *("--only", "ha", "--ha-lag-seconds", "1", "--ha-down-seconds", "1", "--ha-kills", "1"),
        *("--results-dir", str(results)),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "phase ha done" in done.stderr
    [written] = results.glob("*-ha.json")  # the ha phase alone: its file is named for it
    document = json.loads(written.read_text())
    assert document["settings"]["ha_down_seconds"] == 1 and document["settings"]["ha_kills"] == 1
    rows = phase_rows(document)
    assert {row["phase"] for row in rows} == {"ha"} and len(rows) == 7
    assert all(row["met"] is None and row["raw"]["median"] >= 0 for row in rows)
    assert [row["raw_label"] for row in rows] == ["ldap3 adds"] * 5 + ["ldap3 ServerPool"] * 2
    assert [row["unit"] for row in rows] == ["ms"] * 4 + ["/s"] + ["s"] * 2
    assert [row["writes"] for row in rows[:4]] == [100, 100, 500, 500]
    assert [row["automatic_after_s"] for row in rows[5:]] == [2.0, 2.0]
    ha = document["phases"]["ha"]
    for rate in ha["lag"]:
        assert rate["bridge"]["writes"] == rate["raw"]["writes"] == rate["rate"]
    catch_up = ha["catch_up"]
    assert catch_up["kill"] == "SIGKILL"
    assert catch_up["bridge"]["backlog"] == catch_up["raw"]["backlog"] == 100
    assert catch_up["bridge"]["per_s"] > 0 and catch_up["raw"]["per_s"] > 0
    failover = ha["failover"]
    assert failover["measured"] is True and failover["kills"] == 1
    assert failover["pause_s"]["bridge"]["samples"] == failover["pause_s"]["raw"]["samples"] == 1
    assert failover["settings"]["automatic_after"] == 2.0
    work = Path(re.search(r" in (\S+mims-bench-\S+)", done.stderr)[1])
    assert our_processes(work) == []
    assert not work.exists()


def test_the_ha_phase_runs_only_when_named() -> None:
    shown = bench("--help")
    assert shown.returncode == 0
    assert "ha only when named" in " ".join(shown.stdout.split())
    for option in ("--ha-kills", "--ha-down-seconds", "--ha-lag-seconds", "--mixed-clients"):
        assert option in shown.stdout


def test_an_unknown_phase_is_refused_in_one_line_naming_the_phases() -> None:
    unknown = bench("--only", "lookup,nope")
    assert unknown.returncode == 2 and "unknown phase 'nope'" in unknown.stderr
    assert "import, lookup, walk, write, sspr, console, peer" in unknown.stderr.splitlines()[-1]


DUMP = """\
dn: dc=mims,dc=example
objectClass: organization
entryUUID: 1

dn: cn=School,ou=groups,dc=mims,dc=example
objectClass: mimsGroup
cn: School
member: uid=mary_tan,ou=students,ou=people,dc=mims,dc=example
entryCSN: 2

dn: uid=mary_tan,ou=students,ou=people,dc=mims,dc=example
objectClass: inetOrgPerson
cn: Mary Tan
description: a folded
  line
memberOf: cn=School,ou=groups,dc=mims,dc=example
pwdPolicySubentry: cn=icon,ou=policies,dc=mims,dc=example
pwdChangedTime: 20260101000000Z
createTimestamp: 20260101000000Z
"""


def test_the_replay_drops_server_only_attributes_and_existing_entries_and_puts_groups_last(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump.ldif"
    dump.write_text(DUMP)
    replay = ldif.replay(dump, {"dc=mims,dc=example"}, tmp_path / "replay.ldif")
    text = replay.path.read_text()
    assert [line for line in text.splitlines() if line.startswith("dn:")] == [
        "dn: uid=mary_tan,ou=students,ou=people,dc=mims,dc=example",
        "dn: cn=School,ou=groups,dc=mims,dc=example",
    ]
    assert "description: a folded line" in text
    assert "pwdPolicySubentry: cn=icon" in text  # user-modifiable: kept
    for gone in ("entryUUID", "entryCSN", "memberOf", "pwdChangedTime", "createTimestamp"):
        assert gone not in text
    assert (replay.entries, replay.groups, replay.member_values, replay.member_of_values) == (
        2,
        1,
        1,
        1,
    )
    assert ldif.count(dump, {"dc=mims,dc=example"}) == (2, 1)


def test_a_profile_is_summarised_by_layer_and_function() -> None:
    lines = [
        "_worker (/x/lib/python3.11/concurrent/futures/thread.py:83);"
        "Connection.add (/v/site-packages/ldap3/core/connection.py:1010);"
        "encode (/v/site-packages/pyasn1/codec/ber/encoder.py:80) 3",
        "_worker (/x/lib/python3.11/concurrent/futures/thread.py:83);"
        "Importer._write (/w/bridge/importer.py:139) 1",
    ]
    summary = profiling.summarise(lines, wall_s=0.08)
    assert summary["samples"] == 4 and summary["gil_busy"] == 0.5
    assert summary["by_layer_pct"] == {"pyasn1": 75.0, "bridge/importer": 25.0}
    assert summary["inclusive_top_pct"]["Connection.add (ldap3/core/connection.py)"] == 75.0


def test_a_server_profile_puts_each_sample_where_the_request_was() -> None:
    process = 'process 9:"mims serve";thread (10): WSGI_0;'
    pool = (
        "_worker (/x/lib/python3.11/concurrent/futures/thread.py:83);"
        "ThreadedWsgi._run (/w/bridge/web/threaded_wsgi.py:90);"
        "Flask.wsgi_app (/v/site-packages/flask/app.py:1479);"
    )
    loop = (
        'process 9:"mims serve";thread (9): MainThread;'
        "BaseEventLoop._run_once (/x/lib/python3.11/asyncio/base_events.py:1922);"
    )
    lines = [
        process + pool + "search_users (/w/bridge/scim/users.py:120);"
        "_ldap_call (/v/site-packages/ldap/ldapobject.py:128);"
        "SimpleLDAPObject.result4 (/v/site-packages/ldap/ldapobject.py:550) 6",
        process + pool + "to_person (/w/bridge/directory/mapping.py:240);"
        "_strptime (/x/lib/python3.11/_strptime.py:309) 2",
        process + pool + "parse_filter (/w/bridge/scim/filters.py:170) 1",
        process + pool + "Logger.info (/x/lib/python3.11/logging/__init__.py:1489) 1",
        loop + "_SelectorSocketTransport.write (/x/lib/python3.11/asyncio/selector_events.py:1) 2",
        loop + "EpollSelector.select (/x/lib/python3.11/selectors.py:468) 20",
        'process 9:"mims serve";thread (11): WSGI_1;'
        "_worker (/x/lib/python3.11/concurrent/futures/thread.py:83);"
        "Condition.wait (/x/lib/python3.11/threading.py:320) 22",
    ]
    split = server_profile.split(lines, wall_s=0.1, requests=1, latency_ms=50.0)
    assert split["ticks"] == 22 and split["samples"] == 12 and split["idle_samples"] == 42
    assert split["pct"] == {
        "http": 25.0,
        "scim": 8.3,
        "core": 0.0,
        "ldap_client": 16.7,
        "slapd": 50.0,
        "other": 0.0,
    }
    assert split["ms_per_request"]["slapd"] == round(6 * 100 / 22, 3)


def test_the_table_marks_a_missed_target() -> None:
    bridge, raw = Samples((3.0, 5.0, 4.0)), Samples((1.0,))
    row = Measurement("import", "import", bridge, raw, "ldapadd", max_ratio=2.0)
    shown = table([row])
    assert "4.00 s (3.00-5.00)" in shown and "4.00x" in shown and "NO" in shown


def test_a_row_carries_one_target_a_ratio_either_way_or_an_absolute_delta() -> None:
    fast, slow = Samples((2.0,)), Samples((5.0,))
    rate = Measurement("write", "post", Samples((40.0,)), Samples((100.0,)), "add", unit="/s")
    latency = Measurement("lookup", "p50", Samples((3.5,)), fast, "ldap3", unit="ms")
    rows = [
        Measurement("walk", "time", slow, fast, "raw", max_ratio=2.0),
        Measurement("write", "post", rate.bridge, rate.raw, "add", unit="/s", min_ratio=0.5),
        Measurement("lookup", "p50", latency.bridge, fast, "ldap3", unit="ms", max_delta=2.0),
        Measurement(
            "walk", "rss", Samples((260.0,)), Samples((200.0,)), "rest", "MB", max_delta=50
        ),
    ]
    assert [row.met for row in rows] == [False, False, True, False]
    assert [row.target for row in rows] == ["<= 2x", ">= 0.5x", "<= +2 ms", "<= +50 MB"]
    assert rows[2].delta == 1.5 and rows[2].as_json()["target_max_delta"] == 2.0
    assert rows[1].as_json()["target_min_ratio"] == 0.5
    assert rows[1].as_json()["target_max_ratio"] is None  # format 1's key is still there
    shown = table(rows)
    assert "| raw or peer " in shown and ">= 0.5x" in shown and "<= +2 ms" in shown
    assert rate.met is None and latency.target == "-"
    with pytest.raises(ValueError, match="one target"):
        Measurement("x", "y", fast, slow, "raw", max_ratio=1.0, min_ratio=0.5)


def test_a_row_may_hold_the_bridge_to_an_absolute_figure_whatever_the_raw_side() -> None:
    under = Measurement(
        "console", "p50", Samples((42.0,)), Samples((900.0,)), "ldap3", "ms", max_value=50
    )
    over = Measurement(
        "console", "p50", Samples((51.0,)), Samples((1.0,)), "ldap3", "ms", max_value=50
    )
    assert (under.met, over.met) == (True, False)
    assert under.target == "<= 50 ms" and over.as_json()["target_max_value"] == 50
    assert "<= 50 ms" in table([under, over])
    with pytest.raises(ValueError, match="one target"):
        Measurement("x", "y", Samples((1.0,)), Samples((1.0,)), "raw", max_ratio=1.0, max_value=5)


def test_a_tiny_ratio_keeps_its_significant_digits() -> None:
    row = Measurement("peer", "emails", Samples((2.4,)), Samples((2600.0,)), "peer", unit="ms")
    assert "0.00092x" in table([row])


def test_the_mixed_plan_gives_each_operation_its_weight_in_every_block_of_100() -> None:
    plan = mixed.Plan(mixed.WEIGHTS, seed=1)
    for start in (0, 100, 12_300):
        kinds = [plan[i][0] for i in range(start, start + 100)]
        assert {kind: kinds.count(kind) for kind in mixed.WEIGHTS} == mixed.WEIGHTS
    assert [plan[i][1] for i in range(3)] == [0, 1, 2]


def test_every_nightly_delta_moves_each_student_to_another_class_of_their_level(
    tmp_path: Path,
) -> None:
    roster = [
        {"external_id": f"S{i}", "role": "student", "school": "A", "level": "P1", "class": c}
        for i, c in enumerate(["1A", "1B", "1A", "1C"])
    ] + [
        {"external_id": "S9", "role": "student", "school": "A", "level": "P2", "class": "2A"},
        {"external_id": "T1", "role": "staff", "school": "A", "level": "", "class": ""},
    ]
    movable = mixed.movable_students(roster, taken={"S1"})
    assert sorted(row["external_id"] for row, _ in movable) == ["S0", "S2", "S3"]
    before = {row["external_id"]: row["class"] for row in roster}
    for round_ in range(3):
        rows = mixed.write_delta(tmp_path / f"{round_}.csv", movable, round_)
        after = {row["external_id"]: row["class"] for row in rows}
        assert all(after[key] != before[key] for key in after)
        assert all(value.startswith("1") for value in after.values())
        before |= after
    assert (tmp_path / "2.csv").read_text().startswith("external_id,role,school,level,class")


def test_charts_are_pngs_beside_the_json_one_per_phase(tmp_path: Path) -> None:
    operation = {"rate_per_s": 9, "p50_ms": 2, "p99_ms": 8}
    levels = [
        {"clients": k, "rate_per_s": 10.0, "by_operation": {"lookup": operation}} for k in (8, 32)
    ]
    row = Measurement("walk", "walk", Samples((2.0,)), Samples((1.0,)), "raw", max_ratio=3)
    results = tmp_path / "run.json"
    results.write_text(
        json.dumps(
            {
                "settings": {"people": 10},
                "results": [row.as_json()],
                "phases": {"walk": {}, "mixed": {"levels": levels}, "sync": {"failed": "x"}},
            }
        )
    )
    drawn = charts.draw_all(results)
    assert [path.name for path in drawn] == ["run-walk.png", "run-mixed.png"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in drawn)
