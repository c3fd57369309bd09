"""`mims sync` as a person runs it: help, one-line errors, a one-off run, status and retry."""

from __future__ import annotations

import json
from pathlib import Path

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port
from tests.support.sync import TARGET, TOKEN_ENV, clear_sync_state, peer_users

STUDENTS = f"ou=students,ou=people,{SUFFIX}"


@pytest.fixture
def env(config: Config, directory: LdapClient, slapd: ManagedSlapd, tmp_path: Path):
    """Point `mims` at the session's slapd and a config file with one target, ``peer``."""
    variables = {
        "MIMS_DATA_DIR": str(config.slapd.data_dir),
        "HOME": str(config.slapd.data_dir.parent),
        "MIMS_CONFIG": str(tmp_path / "site.toml"),
    }
    yield variables
    clear_sync_state(slapd)


def target_file(env: dict[str, str], url: str, token: str = "", **extra: str) -> dict[str, str]:
    lines = [f"[sync.targets.{TARGET}]", 'kind = "scim"', f'url = "{url}"']
    lines += [f'token_env = "{TOKEN_ENV}"', "rate = 1000"]
    lines += [f'{key} = "{value}"' for key, value in extra.items()]
    Path(env["MIMS_CONFIG"]).write_text("\n".join(lines) + "\n")
    return env | {TOKEN_ENV: token or "unused"}


@pytest.mark.slow
def test_help_has_examples() -> None:
    for command in (["sync"], ["sync", "run"], ["sync", "status"], ["sync", "retry"]):
        shown = mims(*command, "--help")
        assert shown.returncode == 0
        assert "Example" in shown.stdout


def test_an_unknown_target_is_one_line(env: dict[str, str]) -> None:
    run = mims("sync", "run", "--target", "nope", env=target_file(env, "http://127.0.0.1:9/"))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "Error: no sync target is named 'nope'; configured: peer"
    ]


@pytest.mark.slow
def test_an_unreachable_target_is_one_line_and_a_failure(env: dict[str, str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v2/"
    run = mims("sync", "run", "--once", env=target_file(env, closed), timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("Error: peer is unreachable: ")
    retry = mims("sync", "retry", TARGET, env=target_file(env, closed))
    assert retry.returncode == 0  # nothing to replay: it never needed the target


@pytest.mark.slow
def test_once_then_status_then_retry(
    env: dict[str, str], empty_peer: PeerServer, slapd: ManagedSlapd
) -> None:
    with admin_connection(slapd) as admin:
        for name in ("ann", "ben"):
            admin.add(
                f"uid={name},{STUDENTS}",
                ["inetOrgPerson", "mimsPerson"],
                {"cn": name.title(), "sn": name.title(), "mail": f"{name}@students.edu.sg"},
            )
        # Ben has no employeeNumber: a target that takes it as userName refuses him.
        admin.modify(
            f"uid=ann,{STUDENTS}", {"employeeNumber": [(ldap3.MODIFY_REPLACE, ["ann@x.example"])]}
        )
    variables = target_file(env, empty_peer.base_url, empty_peer.token)
    Path(env["MIMS_CONFIG"]).write_text(
        Path(env["MIMS_CONFIG"]).read_text()
        + f'[sync.targets.{TARGET}.mapping]\nuserName = "employeeNumber"\n'
    )
    run = mims("sync", "run", "--once", env=variables)
    assert run.returncode == 0, run.stderr
    assert "peer: delivered 1, refused 1" in run.stderr
    assert [u["userName"] for u in peer_users(empty_peer)] == ["ann@x.example"]

    status = mims("sync", "status", "--json", env=variables)
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)
    assert shown["target"] == TARGET
    assert shown["synced"] is True
    assert shown["pending_changes"] == 0
    assert shown["dead_letters"] == 1
    assert (shown["pending_capped"], shown["dead_letters_capped"]) == (False, False)
    assert shown["last_success"] is not None
    table = mims("sync", "status", env=variables)
    assert table.stdout.splitlines()[1].split()[:3] == [TARGET, "up", "to"]

    still = mims("sync", "retry", TARGET, env=variables)
    assert still.returncode == 1
    assert "dead letters delivered 0, still refused 1" in still.stderr
    with admin_connection(slapd) as admin:
        admin.modify(
            f"uid=ben,{STUDENTS}", {"employeeNumber": [(ldap3.MODIFY_REPLACE, ["ben@x.example"])]}
        )
    fixed = mims("sync", "retry", TARGET, env=variables)
    assert fixed.returncode == 0, fixed.stderr
    assert "dead letters delivered 1, still refused 0" in fixed.stderr
    assert (
        json.loads(mims("sync", "status", "--json", env=variables).stdout)[0]["dead_letters"] == 0
    )
