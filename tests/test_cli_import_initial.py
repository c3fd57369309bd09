"""`mims import --initial`: the first-day load, offline, gives the directory `mims import` gives.

Each test has managed slapds of its own (the session's directory is not empty), in folders
made with `mims slapd init` and started with `mims slapd start`, as a sysadmin would.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support import trees
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

# Namesakes in one role and across roles, a chosen login ID that a namesake's suffix would
# have taken, staff in two schools, group names whose addresses clash, names beyond ASCII.
ROSTER = """external_id,full_name,role,school,level,class,login_id,email
S1,Tan Mei Ling,student,Clementi Primary School,P4,4A,,
S2,Tan Mei Ling,student,Clementi Primary School,P4,4B,,
T1,Tan Mei Ling,staff,Clementi Primary School; Bedok Secondary School,,,,mei@example.org
S3,Chosen One,student,Clementi Primary School,P4,4A,tan_mei_ling_3@students.edu.sg,
S4,Nur Aisyah binte Rahman,student,St. Andrew's School,Sec 1,1-A,,
S5,Nur Aisyah binte Rahman,student,St Andrews School,Sec 1,1 A,,
S6,Zoë O’Brien,student,St Andrews School,Sec 1,1 A,,
H1,Lim Wei,hq,,,,,
"""


def _run(*args: str, env: dict[str, str]) -> str:
    result = mims(*args, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Directories:
    """Managed slapds made and started with `mims` in one temporary folder, stopped at the end."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.roster = home / "roster.csv"
        self.roster.write_text(ROSTER, encoding="utf-8")
        self.started: list[ManagedSlapd] = []

    def new(self, name: str) -> dict[str, str]:
        """Return the `mims` environment of a new directory, made and started as `mims slapd`."""
        server = ManagedSlapd(self.home / name, SUFFIX, no_sync=True)
        server.init()
        self.started.append(server)
        port, ldaps_port = free_port(), free_port()
        server.start(port, ldaps_port)
        return {
            "HOME": str(self.home),
            "MIMS_DATA_DIR": str(self.home / name),
            "MIMS_LDAP_PORT": str(port),
            "MIMS_LDAPS_PORT": str(ldaps_port),
        }


@pytest.fixture(scope="module")
def directories() -> Iterator[Directories]:
    # The system's temp folder: pytest's paths are too long for slapd's ldapi socket.
    made = Directories(Path(tempfile.mkdtemp(prefix="mims-initial-")))
    yield made
    for server in made.started:
        server.stop()
    shutil.rmtree(made.home, ignore_errors=True)


@dataclass(frozen=True)
class Loaded:
    """The same roster imported online and loaded with --initial; what --initial said."""

    online: dict[str, str]
    initial: dict[str, str]
    said: str


@pytest.fixture(scope="module")
def loaded(directories: Directories) -> Loaded:
    roster = str(directories.roster)
    online, initial = directories.new("online"), directories.new("initial")
    _run("import", roster, env=online)
    return Loaded(online, initial, _run("import", "--initial", roster, env=initial))


def _slapd(env: dict[str, str]) -> ManagedSlapd:
    return ManagedSlapd(Path(env["MIMS_DATA_DIR"]), SUFFIX)


def _data(env: dict[str, str]) -> trees.Tree:
    """Return what the import writes: people, groups, the number counter (server-made left out)."""
    server = _slapd(env)
    tree: trees.Tree = {}
    for base in (
        f"ou=people,{SUFFIX}",
        f"ou=groups,{SUFFIX}",
        f"cn=id-numbers,ou=services,{SUFFIX}",
    ):
        tree |= trees.read_tree(server, base)
    return trees.data_only(tree)


def test_the_initial_load_gives_the_directory_the_online_import_gives(loaded: Loaded) -> None:
    assert loaded.said.strip().endswith("8 rows: 8 created, 0 updated, 0 unchanged, 0 rejected")
    wanted, got = _data(loaded.online), _data(loaded.initial)
    assert trees.compare(wanted, got) == [], trees.report(trees.compare(wanted, got))
    # What the comparison covers, so that it cannot pass on two empty trees:
    people = [a for a in got.values() if b"mimsPerson" in a.get("objectclass", ())]
    assert len(people) == 8
    assert {b"tan_mei_ling", b"tan_mei_ling_3", b"tan_mei_ling_4", b"tan_mei_ling_5"} <= {
        uid for p in people for uid in p["uid"]
    }
    assert all(
        p.get("memberof") and p.get("pwdpolicysubentry")
        for p in people
        if b"hq" not in p["mimsrole"]
    )
    # slapd serves the loaded directory again, and the bridge reads it.
    assert "tan_mei_ling_4@students.edu.sg" in _run("user", "list", env=loaded.initial)


def test_the_loaded_directory_tells_replicas_it_changed(loaded: Loaded) -> None:
    # syncprov answers a replica's refresh from the suffix's contextCSN: one older than the
    # loaded entries (the dump's, from before the load) would tell a replica nothing changed.
    with admin_connection(_slapd(loaded.initial)) as admin:
        admin.search(SUFFIX, "(objectClass=*)", ldap3.BASE, attributes=["contextCSN"])
        context = max(admin.entries[0].contextCSN.values)
        admin.search(f"ou=people,{SUFFIX}", "(objectClass=mimsPerson)", attributes=["entryCSN"])
        newest = max(entry.entryCSN.value for entry in admin.entries)
    assert context >= newest


def test_a_directory_with_people_is_refused_and_left_alone(
    directories: Directories, loaded: Loaded
) -> None:
    env = loaded.initial
    before = _data(env)
    result = mims("import", "--initial", str(directories.roster), env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "Error: the directory already holds people: `mims import --initial` only loads a new, "
        "empty directory; use `mims import FILE`",
    )
    assert _slapd(env).answers()
    assert trees.compare(before, _data(env)) == []


def test_a_directory_of_its_own_is_refused(directories: Directories) -> None:
    env = {
        "HOME": str(directories.home),
        "MIMS_LDAP_URL": "ldaps://127.0.0.1:1",
        "MIMS_LDAP_BIND_DN": "cn=mims,dc=example",
        "MIMS_LDAP_PASSWORD": "not used",
    }
    result = mims("import", "--initial", str(directories.roster), env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "Error: `mims import --initial` loads the managed slapd offline, but this "
        "configuration's directory is [directory] urls: use `mims import FILE`",
    )


def test_a_bad_row_or_a_failed_load_leaves_the_directory_as_it_was_and_slapd_running(
    directories: Directories,
) -> None:
    env = directories.new("full")
    server = _slapd(env)
    bad = directories.home / "bad.csv"
    bad.write_text(ROSTER + "S9,Tan Mei Ling,pupil,Clementi Primary School,P4,4A,,\n")
    result = mims("import", "--initial", str(bad), env=env)
    assert result.returncode == 1
    assert result.stdout.strip().endswith("9 rows: 1 rejected (use --rejects FILE to keep them)")
    assert "nothing was loaded: an initial load is all or nothing" in result.stderr
    assert not [a for a in _data(env).values() if b"mimsPerson" in a.get("objectclass", ())]
    big = directories.home / "big.csv"
    rows = [f"B{n},Pupil {chr(65 + n % 26)}{n},student,Big School,P1,1A\n" for n in range(400)]
    big.write_text("external_id,full_name,role,school,level,class\n" + "".join(rows))
    # A database with room for little more than a new directory: the load runs out of space.
    with admin_connection(server) as admin:
        admin.modify(
            "olcDatabase={1}mdb,cn=config", {"olcDbMaxSize": [(ldap3.MODIFY_REPLACE, ["262144"])]}
        )
        assert admin.result["result"] == 0, admin.result
    before = _data(env)
    result = mims("import", "--initial", str(big), env=env, timeout=120)
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert line.startswith("Error: slapadd refused the load (")
    assert line.endswith("); the directory is as it was")
    assert server.answers()
    assert trees.compare(before, _data(env)) == []
    assert not [a for a in before.values() if b"mimsPerson" in a.get("objectclass", ())]
    assert sorted(p.name for p in server.layout.root.iterdir() if p.name.startswith("db")) == ["db"]
