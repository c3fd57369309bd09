"""Measurements, the table printed at the end, and the JSON file kept in bench/results/."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Samples:
    """Repeated measurements of one quantity (seconds unless said otherwise)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def as_json(self) -> dict[str, Any]:
        return {
            "median": round(self.median, 3),
            "min": round(min(self.values), 3),
            "max": round(max(self.values), 3),
            "samples": [round(v, 3) for v in self.values],
        }

    def shown(self, unit: str) -> str:
        text = f"{_number(self.median)} {unit}"
        if len(self.values) > 1:
            text += f" ({_number(min(self.values))}-{_number(max(self.values))})"
        return text


@dataclass(frozen=True)
class Measurement:
    """One row of the table: the bridge against a raw (or peer) baseline, as a ratio.

    ``max_ratio`` is the target (bridge / raw at most this); None marks an informative row.
    """

    phase: str
    operation: str
    bridge: Samples
    raw: Samples
    raw_label: str
    unit: str = "s"
    max_ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.bridge.median / self.raw.median if self.raw.median else float("inf")

    @property
    def met(self) -> bool | None:
        return None if self.max_ratio is None else self.ratio <= self.max_ratio

    def as_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "operation": self.operation,
            "unit": self.unit,
            "bridge": self.bridge.as_json(),
            "raw_label": self.raw_label,
            "raw": self.raw.as_json(),
            "ratio": round(self.ratio, 3),
            "target_max_ratio": self.max_ratio,
            "met": self.met,
            **self.extra,
        }


def table(measurements: Sequence[Measurement]) -> str:
    """Return the results as a Markdown table (pasteable into README)."""
    rows = [["operation", "bridge", "raw", "ratio", "target", "met?"]]
    for m in measurements:
        rows.append(
            [
                m.operation,
                m.bridge.shown(m.unit),
                f"{m.raw.shown(m.unit)} {m.raw_label}",
                f"{m.ratio:.2f}x",
                f"<= {m.max_ratio:g}x" if m.max_ratio is not None else "-",
                {True: "yes", False: "NO", None: "-"}[m.met],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """Write the results document, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
