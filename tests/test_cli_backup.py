"""`mims backup` and `mims restore`: 10,000 people there and back, and the refusals."""

from __future__ import annotations

import csv
import io
import shutil
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection, closing
from tests.support.ports import free_port

PEOPLE = 10_000
Dump = dict[str, dict[str, list[bytes]]]


@dataclass(frozen=True)
class Original:
    """A managed slapd filled through `mims`, and the backup `mims backup` made of it."""

    home: Path
    env: dict[str, str]
    archive: Path
    locked_dn: str
    answered: int
    dump: Dump


def run(*args: str, env: dict[str, str], timeout: float = 120, measured: bool = True) -> str:
    result = mims(*args, env=env, timeout=timeout, measured=measured)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dump(data_dir: Path) -> Dump:
    """Return every entry of the directory with all its attributes, as the rootDN reads them."""
    entries: Dump = {}
    with admin_connection(ManagedSlapd(data_dir, SUFFIX)) as connection:
        found = connection.extend.standard.paged_search(
            SUFFIX, "(objectClass=*)", attributes=["*", "+"], paged_size=1000, generator=True
        )
        for entry in found:
            raw = entry["raw_attributes"]
            entries[entry["dn"].lower()] = {name.lower(): sorted(raw[name]) for name in raw}
    return entries


def lock(data_dir: Path, login: str) -> str:
    """Give a person a password, then sign in wrongly until ppolicy locks them; return the DN."""
    slapd = ManagedSlapd(data_dir, SUFFIX)
    with admin_connection(slapd) as admin:
        admin.search(SUFFIX, f"(mail={login})", attributes=["pwdAccountLockedTime"])
        (person,) = admin.entries
        for _ in range(20):
            attempt = ldap3.Connection(
                ldap3.Server(slapd.ldapi_url, get_info=ldap3.NONE),
                user=person.entry_dn,
                password="not the password",
            )
            with closing(attempt):
                assert not attempt.bind()
            admin.search(person.entry_dn, "(objectClass=*)", attributes=["pwdAccountLockedTime"])
            if admin.entries[0].pwdAccountLockedTime.values:
                return str(person.entry_dn)
    raise AssertionError(f"{login} was not locked after 20 wrong passwords")


def smallest_young_class(roster: Path) -> tuple[str, str]:
    """Return the school and level (P1-P3) with the fewest children: quick to give answers."""
    with roster.open(encoding="utf-8") as handle:
        levels = Counter(
            (row["school"], row["level"])
            for row in csv.DictReader(handle)
            if row["role"] == "student" and row["level"] in ("P1", "P2", "P3")
        )
    return min(levels, key=lambda key: levels[key])


@pytest.fixture(scope="module")
def original() -> Iterator[Original]:
    # The system's temp folder: pytest's paths are too long for slapd's ldapi socket.
    home = Path(tempfile.mkdtemp(prefix="mims-backup-"))
    data = home / "original"
    env = {
        "HOME": str(home),
        "MIMS_DATA_DIR": str(data),
        "MIMS_LDAP_PORT": str(free_port()),
        "MIMS_LDAPS_PORT": str(free_port()),
    }
    run("slapd", "init", env=env)  # with its local CA and server certificate in tls/
    run("slapd", "start", env=env)
    try:
        roster = home / "roster.csv"
        # The data is loaded outside coverage, offline (`--initial`: seconds, where the online
        # import takes minutes; both give the same directory): the importers have their own tests.
        run("demo", "--people", str(PEOPLE), "--out", str(roster), env=env, measured=False)
        run("import", "--initial", str(roster), env=env, timeout=600, measured=False)
        login = run("user", "list", "--level", "P5", env=env).split()[0]
        run("user", "reset-password", login, env=env)
        locked = lock(data, login)
        school, level = smallest_young_class(roster)
        answers = run("answers", "preset", "--school", school, "--level", level, env=env)
        answered = len(answers.splitlines()) - 1
        archive = home / "nightly.tar.gz"
        run("backup", "--out", str(archive), env=env)
        yield Original(home, env, archive, locked, answered, dump(data))
    finally:
        mims("slapd", "stop", env=env)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def restored_env(original: Original) -> Iterator[dict[str, str]]:
    folder = original.home / "restored"
    env = original.env | {
        "MIMS_DATA_DIR": str(folder),
        "MIMS_LDAP_PORT": str(free_port()),
        "MIMS_LDAPS_PORT": str(free_port()),
    }
    yield env
    mims("slapd", "stop", env=env)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_round_trip_of_ten_thousand_people_loses_nothing(
    original: Original, restored_env: dict[str, str]
) -> None:
    said = run("restore", str(original.archive), env=restored_env, timeout=600)
    assert said.startswith(f"restored {PEOPLE} people, ")
    run("slapd", "start", env=restored_env)
    folder = Path(restored_env["MIMS_DATA_DIR"])
    copy = dump(folder)
    assert copy == original.dump
    # The comparison covers what matters, so it cannot pass on an empty pair of dumps:
    people = [e for e in copy.values() if b"mimsPerson" in e.get("objectclass", [])]
    assert len(people) == PEOPLE
    assert any(b"mimsGroup" in e.get("objectclass", []) for e in copy.values())
    assert copy[original.locked_dn.lower()]["pwdaccountlockedtime"]
    assert copy[original.locked_dn.lower()]["pwdfailuretime"]
    with_answers = [e for e in people if e.get("mimschallengeanswer")]
    assert len(with_answers) == original.answered > 0
    # Secrets and TLS files came along, readable by their owner alone where they were.
    source = Path(original.env["MIMS_DATA_DIR"])
    for name in ("service.secret", "tls/ca.pem", "tls/ca.key", "tls/server.key"):
        assert (folder / name).read_bytes() == (source / name).read_bytes()
    assert (folder / "service.secret").stat().st_mode & 0o777 == 0o600
    assert (folder / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
    # The bridge works against the restored folder with its own service secret.
    shown = run(
        "user", "show", "--json", run("user", "list", env=restored_env).split()[0], env=restored_env
    )
    assert '"login_id"' in shown


def test_the_archive_is_readable_by_its_owner_alone(original: Original) -> None:
    assert original.archive.stat().st_mode & 0o777 == 0o600


def test_the_default_name_says_what_and_when_in_the_current_folder(original: Original) -> None:
    folder = original.home / "here"
    folder.mkdir()
    result = mims("backup", env=original.env, cwd=folder)
    assert result.returncode == 0, result.stderr
    (made,) = folder.iterdir()
    assert made.name.startswith("mims-backup-mims.example-")
    assert made.name.endswith("Z.tar.gz")


def test_an_existing_file_is_never_overwritten(original: Original) -> None:
    before = original.archive.read_bytes()
    result = mims("backup", "--out", str(original.archive), env=original.env)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"Error: {original.archive} already exists; choose another --out or move it away"
    )
    assert original.archive.read_bytes() == before


def test_restore_refuses_a_folder_that_is_not_empty(original: Original) -> None:
    folder = original.home / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    env = original.env | {"MIMS_DATA_DIR": str(folder)}
    result = mims("restore", str(original.archive), env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"Error: {folder} is not empty; restore into an empty or new folder",
    )
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        (b"this is not an archive\n", "is damaged or not a mims backup (tar.gz)"),
        ("half", "is damaged or not a mims backup (tar.gz)"),
    ],
    ids=["missing", "not-an-archive", "truncated"],
)
def test_restore_refuses_an_archive_it_cannot_read_in_one_line(
    original: Original, content: bytes | str | None, words: str
) -> None:
    archive = original.home / "broken.tar.gz"
    archive.unlink(missing_ok=True)
    if content == "half":
        whole = original.archive.read_bytes()
        archive.write_bytes(whole[: len(whole) // 2])
    elif isinstance(content, bytes):
        archive.write_bytes(content)
    folder = original.home / "never"
    env = original.env | {"MIMS_DATA_DIR": str(folder)}
    result = mims("restore", str(archive), env=env)
    assert (result.returncode, result.stderr.strip()) == (1, f"Error: {archive} {words}")
    assert not folder.exists()


def test_restore_refuses_a_backup_of_another_suffix(original: Original) -> None:
    folder = original.home / "other"
    env = original.env | {"MIMS_DATA_DIR": str(folder), "MIMS_LDAP_SUFFIX": "dc=other,dc=example"}
    result = mims("restore", str(original.archive), env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"Error: {original.archive} holds suffix {SUFFIX!r} but the configuration says "
        "'dc=other,dc=example'",
    )
    assert not folder.exists()


def test_restore_refuses_a_tar_gz_that_is_not_a_mims_backup(original: Original) -> None:
    archive = original.home / "photos.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("holiday.jpg")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"\xff\xd8\xff\xe0\x00"))
    folder = original.home / "never"
    result = mims("restore", str(archive), env=original.env | {"MIMS_DATA_DIR": str(folder)})
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"Error: {archive} is not a mims backup: it lacks manifest.json, config.ldif, data.ldif",
    )
    assert not folder.exists()
