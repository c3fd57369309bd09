"""Profile a command with py-spy and say where its Python time goes, in numbers.

py-spy samples only the thread that holds the GIL (``--gil``), so the samples are the process's
Python CPU time; samples / (rate x wall time) is how busy the GIL was. A GIL busy most of the
time means the import is bound by Python CPU, not by waiting on slapd.
"""

from __future__ import annotations

import gzip
import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.workspace import BenchError, Workspace

RATE = 100  # samples per second
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    """Return the py-spy program next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise BenchError(
            "--profile needs py-spy: `.venv/bin/python -m pip install py-spy` (not a dependency)"
        )
    return found


def record(ws: Workspace, command: Sequence[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """Run ``command`` under py-spy; write its folded stacks to ``out``, return a summary.

    ``out`` (gzip) is in the folded format of flamegraph.pl and speedscope, one line per
    distinct stack, with short file names and no line numbers, so that it stays small enough
    to keep: ``zcat FILE | flamegraph.pl > import.svg``.
    """
    raw = ws.root / "profile.raw.txt"
    spy = [py_spy(), "record", "--gil", "--full-filenames", "--format", "raw"]
    spy += ["--rate", str(RATE), "-o", str(raw), "--"]
    run = ws.check(ws.run([*spy, *command], ws.root / "profile.log", env=env), "py-spy record")
    lines = raw.read_text().splitlines()
    out.parent.mkdir(parents=True, exist_ok=True)
    folded = "".join(f"{stack} {n}\n" for stack, n in sorted(fold(lines).items()))
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        handle.write(folded)
    summary = summarise(lines, run.wall_s)
    summary.update(
        {"stacks": out.name, "wall_s": round(run.wall_s, 3), "cpu_s": round(run.cpu_s, 3)}
    )
    return summary


def fold(lines: Sequence[str]) -> Counter[str]:
    """Return py-spy's raw stacks merged by function (file names shortened, lines dropped)."""
    folded: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            folded[";".join(_name(frame) for frame in stack.split(";"))] += int(count_text)
    return folded


def summarise(lines: Sequence[str], wall_s: float, top: int = 25) -> dict[str, Any]:
    """Return GIL use, time by layer (leaf frame's package) and the heaviest functions."""
    total = 0
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(frame) for frame in stack.split(";")]
        total += count
        layers[_layer(stack.split(";")[-1])] += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    share = {k: _pct(v, total) for k, v in layers.most_common()}
    return {
        "samples": total,
        "rate_hz": RATE,
        "python_cpu_s": round(total / RATE, 2),
        "gil_busy": round(total / (RATE * wall_s), 3) if wall_s else None,
        "by_layer_pct": share,
        "self_top_pct": {k: _pct(v, total) for k, v in own.most_common(top)},
        "inclusive_top_pct": {k: _pct(v, total) for k, v in inclusive.most_common(top)},
    }


def _name(frame: str) -> str:
    """Return ``function (short/file.py)`` for a py-spy frame, without the line number."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match['function']} ({_short(match['file'])})"


def _short(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    for marker in ("/bridge/", "/bench/"):
        if marker in path:
            return marker.strip("/") + "/" + path.split(marker, 1)[1]
    if re.search(r"/python3\.\d+/", path):
        return "stdlib/" + re.split(r"/python3\.\d+/", path, maxsplit=1)[1]
    return path


def _layer(frame: str) -> str:
    """Return which package the innermost frame belongs to: pyasn1, ldap3, bridge/..., stdlib."""
    match = _FRAME.match(frame)
    short = _short(match["file"]) if match else frame
    head = short.split("/", 1)[0]
    if head == "bridge":
        return "/".join(short.split("/")[:2]).removesuffix(".py")
    if head == "stdlib":
        return "stdlib/" + short.split("/")[1].removesuffix(".py")
    return head


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
