"""`mims import` and school groups: every membership lands, however big the group, and stays.

A school group gets every pupil of the school. slapd's memberof overlay writes each new
member's entry before it answers a group modify, so one modify with thousands of members can
outlast the client's operation timeout; the import must neither stop there nor leave a
membership out, and a run after an interrupted one must finish the memberships.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

HEADER = "external_id,full_name,role,school,level,class\n"
GIVEN = "Wei Jun Hui Ling Mei Xin Yi Jia Hao Zhi".split()
FAMILY = "Tan Lim Lee Ng Ong Wong Goh Chua Chan Koh Teo Ang Yeo Tay Ho".split()


@pytest.fixture
def env(config: Config, directory: LdapClient) -> dict[str, str]:
    """Point `mims` at the session's slapd; the directory fixture empties it afterwards."""
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(config.slapd.data_dir.parent)}


def one_school(path: Path, pupils: int) -> Path:
    """Write a roster of ``pupils`` pupils of one school and level, in ten classes."""
    rows = [
        f"T{n:05d},{FAMILY[n % 15]} {GIVEN[n % 10]} {GIVEN[n // 10 % 10]},student,"
        f"Big Primary School,P1,1{'ABCDEFGHIJ'[n % 10]}\n"
        for n in range(pupils)
    ]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def wanted_groups(roster: Path) -> dict[str, set[str]]:
    """Return {group name: external IDs of its members} as the roster's rows say."""
    groups: dict[str, set[str]] = defaultdict(set)
    for line in roster.read_text(encoding="utf-8").splitlines()[1:]:
        external_id, _, _, school, level, class_name = line.split(",")
        for name in (school, f"{school} / {level}", f"{school} / {level} / {class_name}"):
            groups[name].add(external_id)
    return groups


def groups_in(admin: ldap3.Connection) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Return each group's members by its member values, and by its members' memberOf."""
    people = admin.extend.standard.paged_search(
        f"ou=people,{SUFFIX}",
        "(objectClass=mimsPerson)",
        attributes=["mimsExternalId", "memberOf"],
        generator=False,
    )
    external_ids: dict[str, str] = {}
    by_member_of: dict[str, set[str]] = defaultdict(set)
    for person in people:
        attributes = person["attributes"]
        external_id = attributes["mimsExternalId"][0]  # no schema read: every value a list
        external_ids[person["dn"].lower()] = external_id
        for group in attributes["memberOf"]:
            by_member_of[_name(group)].add(external_id)
    admin.search(f"ou=groups,{SUFFIX}", "(objectClass=mimsGroup)", attributes=["cn", "member"])
    by_member = {
        group.cn.value: {external_ids[member.lower()] for member in group.member.values}
        for group in admin.entries
    }
    return by_member, dict(by_member_of)


def _name(group: str) -> str:
    return group.split(",", 1)[0].removeprefix("cn=")


@pytest.fixture
def synced_slapd(tmp_path: Path) -> Iterator[ManagedSlapd]:
    """A slapd of its own that syncs every write to disk, as `mims slapd init` makes one."""
    server = ManagedSlapd(tmp_path / "synced", SUFFIX, no_sync=False)
    server.init()
    server.start(free_port())
    yield server
    server.stop()


@pytest.mark.alone  # the other xdist worker's load alone can keep slapd past 0.5 s
def test_a_big_school_imports_within_a_short_operation_timeout(
    tmp_path: Path, synced_slapd: ManagedSlapd
) -> None:
    # One modify of 3,000 members kept the client waiting about 0.9 s here, 50 of them 0.04 s.
    settings = tmp_path / "short.toml"
    settings.write_text("[directory]\noperation_timeout = 0.5\n", encoding="utf-8")
    url = synced_slapd.ldap_url()
    assert url is not None
    env = {
        "MIMS_DATA_DIR": str(synced_slapd.layout.root),
        "MIMS_LDAP_PORT": url.rsplit(":", 1)[1],
        "MIMS_CONFIG": str(settings),
        "HOME": str(tmp_path),
    }
    roster = one_school(tmp_path / "big.csv", 3000)
    result = mims("import", str(roster), env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3000 rows: 3000 created, 0 updated, 0 unchanged, 0 rejected"
    with admin_connection(synced_slapd) as admin:
        by_member, by_member_of = groups_in(admin)
    assert by_member == by_member_of == wanted_groups(roster)
    again = mims("import", str(roster), env=env, timeout=300)
    assert again.stdout.strip() == "3000 rows: 0 created, 0 updated, 3000 unchanged, 0 rejected"


def test_a_run_after_an_interrupted_import_restores_every_membership(
    tmp_path: Path, env: dict[str, str], admin: ldap3.Connection
) -> None:
    roster = one_school(tmp_path / "school.csv", 120)
    assert mims("import", str(roster), env=env).returncode == 0
    # As an import stopped before its group modifies leaves them: people without groups.
    admin.search(f"ou=groups,{SUFFIX}", "(objectClass=mimsGroup)", attributes=["member"])
    for group in admin.entries:
        lost = [member for member in group.member.values if member < "uid=l"]
        if lost:  # (an empty list would delete every value)
            admin.modify(group.entry_dn, {"member": [(ldap3.MODIFY_DELETE, lost)]})
    by_member, _ = groups_in(admin)
    assert by_member != wanted_groups(roster)
    result = mims("import", str(roster), env=env)
    assert result.returncode == 0, result.stderr
    counts = result.stdout.strip()
    assert counts.startswith("120 rows: 0 created, ") and counts.endswith(" 0 rejected")
    assert " 0 updated" not in counts
    by_member, by_member_of = groups_in(admin)
    assert by_member == by_member_of == wanted_groups(roster)
    again = mims("import", str(roster), env=env)
    assert again.stdout.strip() == "120 rows: 0 created, 0 updated, 120 unchanged, 0 rejected"


def test_a_group_that_refuses_members_stops_the_import_as_an_internal_error(
    tmp_path: Path, env: dict[str, str], admin: ldap3.Connection
) -> None:
    # An entry in the school group's place that cannot hold members: not the roster's fault.
    admin.add(
        f"cn=Big Primary School,ou=groups,{SUFFIX}",
        attributes={"objectClass": ["organizationalRole"], "cn": ["Big Primary School"]},
    )
    result = mims("import", str(one_school(tmp_path / "school.csv", 3)), env=env)
    assert result.returncode == 70
    assert result.stderr.splitlines() == [
        "Error: something went wrong inside mims; run it again with MIMS_DEBUG=1 to see where"
    ]
    debug = mims("import", str(tmp_path / "school.csv"), env=env | {"MIMS_DEBUG": "1"})
    assert "cn=Big Primary School,ou=groups" in debug.stderr
    assert "refused new members" in debug.stderr
