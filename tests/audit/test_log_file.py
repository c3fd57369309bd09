"""The audit file: whole lines from many processes at once, rotated without losing one, 0600."""

from __future__ import annotations

import json
import multiprocessing
import stat
from datetime import UTC, datetime
from pathlib import Path

from bridge.audit import AuditFile
from bridge.core.audit import Event

PROCESSES = 4
EACH = 300


def event(writer: int, number: int) -> Event:
    return Event(
        time=datetime.now(UTC),
        door="cli",
        actor=f"writer-{writer}",
        source="local",
        request_id=f"{writer}-{number}",
        operation="person.update",
        target="x" * 200,  # long lines, so that rotations happen often
        attributes=("display_name",),
    )


def write_many(path: str, writer: int) -> None:
    trail = AuditFile(Path(path), max_bytes=8192, keep=1000)
    for number in range(EACH):
        trail.record(event(writer, number))


def test_processes_writing_and_rotating_at_once_lose_no_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=write_many, args=(str(path), n)) for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    files = [path, *tmp_path.glob("audit.log.*[0-9]")]
    assert len(files) > 10  # it did rotate, many times, while all four wrote
    lines = [line for f in files for line in f.read_text().splitlines()]
    ids = {json.loads(line)["request_id"] for line in lines}  # every line is whole JSON
    assert len(lines) == PROCESSES * EACH
    assert ids == {f"{w}-{n}" for w in range(PROCESSES) for n in range(EACH)}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    reread = list(AuditFile(path, max_bytes=8192, keep=1000).events())
    assert len(reread) == PROCESSES * EACH


def test_the_oldest_files_go_past_keep_and_a_file_made_0644_becomes_0600(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text("")
    path.chmod(0o644)
    trail = AuditFile(path, max_bytes=1024, keep=2)
    for number in range(40):
        trail.record(event(0, number))
    assert sorted(p.name for p in tmp_path.glob("audit.log*") if not p.name.endswith(".lock")) == [
        "audit.log",
        "audit.log.1",
        "audit.log.2",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = [e.request_id for e in trail.events()]
    assert kept == sorted(kept, key=lambda i: int(i.split("-")[1]))  # oldest first
    assert kept[-1] == "0-39"


def test_an_unwritable_trail_does_not_fail_the_change(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    AuditFile(blocked / "audit.log").record(event(0, 0))  # a folder that is a file: logged only
