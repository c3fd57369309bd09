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
    """One row of the table: the bridge against a raw (or peer) baseline.

    At most one target applies, each on the medians: ``max_ratio`` (bridge / raw at most this,
    for times), ``min_ratio`` (bridge / raw at least this, for rates), ``max_delta`` (bridge -
    raw at most this, in ``unit``: an absolute allowance such as "within 2 ms") or
    ``max_value`` (the bridge's own figure at most this, in ``unit``: "under 50 ms"). No
    target marks an informative row.
    """

    phase: str
    operation: str
    bridge: Samples
    raw: Samples
    raw_label: str
    unit: str = "s"
    max_ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    min_ratio: float | None = None
    max_delta: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        given = (self.max_ratio, self.min_ratio, self.max_delta, self.max_value)
        targets = [t for t in given if t is not None]
        if len(targets) > 1:
            raise ValueError(f"{self.operation}: give one target, not {len(targets)}")

    @property
    def ratio(self) -> float:
        return self.bridge.median / self.raw.median if self.raw.median else float("inf")

    @property
    def delta(self) -> float:
        return self.bridge.median - self.raw.median

    @property
    def met(self) -> bool | None:
        if self.max_ratio is not None:
            return self.ratio <= self.max_ratio
        if self.min_ratio is not None:
            return self.ratio >= self.min_ratio
        if self.max_delta is not None:
            return self.delta <= self.max_delta
        if self.max_value is not None:
            return self.bridge.median <= self.max_value
        return None

    @property
    def target(self) -> str:
        """Return the target as the table shows it, or "-" for an informative row."""
        if self.max_ratio is not None:
            return f"<= {self.max_ratio:g}x"
        if self.min_ratio is not None:
            return f">= {self.min_ratio:g}x"
        if self.max_delta is not None:
            return f"<= +{self.max_delta:g} {self.unit}"
        if self.max_value is not None:
            return f"<= {self.max_value:g} {self.unit}"
        return "-"

    def as_json(self) -> dict[str, Any]:
        # Format 1 had only target_max_ratio; the other keys are added, none renamed.
        return {
            "phase": self.phase,
            "operation": self.operation,
            "unit": self.unit,
            "bridge": self.bridge.as_json(),
            "raw_label": self.raw_label,
            "raw": self.raw.as_json(),
            "ratio": round(self.ratio, 3),
            "delta": round(self.delta, 3),
            "target_max_ratio": self.max_ratio,
            "target_min_ratio": self.min_ratio,
            "target_max_delta": self.max_delta,
            "target_max_value": self.max_value,
            "target": self.target,
            "met": self.met,
            **self.extra,
        }


def table(measurements: Sequence[Measurement], padded: bool = True) -> str:
    """Return the results as a Markdown table (pasteable into README).

    ``padded``: columns lined up for a terminal; the README's copy is not, to stay small.
    """
    rows = [["operation", "bridge", "raw or peer", "ratio", "target", "met?"]]
    for m in measurements:
        rows.append(
            [
                m.operation,
                m.bridge.shown(m.unit),
                f"{m.raw.shown(m.unit)} {m.raw_label}",
                _ratio(m.ratio),
                m.target,
                {True: "yes", False: "NO", None: "-"}[m.met],
            ]
        )
    widths = [max(len(row[i]) for row in rows) if padded else 1 for i in range(len(rows[0]))]
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


def _ratio(value: float) -> str:
    """Show a ratio with its significant digits (a peer 1,000x slower gives 0.001x)."""
    if value >= 100:
        return f"{value:.0f}x"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"
