"""PNG charts of a run, drawn with matplotlib beside its JSON (``<json-stem>-<phase>.png``).

The mixed phase draws its own at the end of the phase. For any results file, this module
draws one chart per phase from the JSON alone (the mixed phase's curve, and for the others
each row's bridge and raw-or-peer figures side by side, one panel per unit)::

    .venv/bin/python -m bench.charts bench/results/2026-12-04-100000.json

matplotlib is imported only when a chart is drawn, with the Agg backend (no display, no GUI
toolkit), so the rest of the benchmark and the tests that import it do not pay for it.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mixed_chart(levels: Sequence[dict[str, Any]], title: str, path: Path) -> Path:
    """Draw the mixed phase: throughput and p99 per operation against concurrent clients.

    ``levels`` are the phase's JSON levels (``clients``, ``rate_per_s``, ``by_operation``).
    """
    plt = _pyplot()
    clients = [level["clients"] for level in levels]
    kinds = list(levels[0]["by_operation"])
    figure, (rates, tails) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    rates.plot(clients, [lv["rate_per_s"] for lv in levels], "k-o", label="all operations")
    for kind in kinds:
        ops = [lv["by_operation"][kind] for lv in levels]
        rates.plot(clients, [op["rate_per_s"] for op in ops], "-o", label=kind)
        tails.plot(clients, [op["p99_ms"] for op in ops], "-o", label=kind)
        tails.plot(clients, [op["p50_ms"] for op in ops], ":", color=tails.lines[-1].get_color())
    for axes in (rates, tails):
        axes.set_xscale("log", base=2)
        axes.set_xticks(clients, [str(c) for c in clients])
        axes.minorticks_off()
        axes.set_xlabel("concurrent clients")
        axes.grid(True, alpha=0.3)
    rates.set_ylabel("operations per second")
    top = max(lv["rate_per_s"] for lv in levels)
    rates.set_ylim(0, 1.4 * top if top > 0 else 1)  # room above the lines for the legend
    rates.set_title("throughput")
    tails.set_yscale("log")
    tails.set_ylabel("latency, ms (solid p99, dotted p50)")
    tails.set_title("latency per operation")
    rates.legend(fontsize="small", loc="upper center", ncol=3)
    tails.legend(fontsize="small")
    imports = [lv.get("import", {}) for lv in levels]
    if all(one.get("wall_s") for one in imports):
        took = ", ".join(f"{one['wall_s']:.1f} s" for one in imports)
        title += f"\nnightly import of {imports[0]['rows']} changed rows beside the load: {took}"
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def rows_chart(phase: str, rows: Sequence[dict[str, Any]], title: str, path: Path) -> Path:
    """Draw a phase's rows: the bridge's median beside the raw or peer one, a panel per unit."""
    plt = _pyplot()
    units = list(dict.fromkeys(row["unit"] for row in rows))
    by_unit = [[row for row in rows if row["unit"] == unit] for unit in units]
    figure, panels = plt.subplots(
        len(units),
        1,
        figsize=(11, 1.4 + 0.5 * len(rows) + 0.5 * len(units)),
        height_ratios=[len(mine) for mine in by_unit],
        constrained_layout=True,
        squeeze=False,
    )
    for axes, unit, mine in zip(panels[:, 0], units, by_unit, strict=True):
        at = range(len(mine))
        bridge = [row["bridge"]["median"] for row in mine]
        other = [row["raw"]["median"] for row in mine]
        axes.barh([y - 0.2 for y in at], bridge, 0.4, label="bridge")
        axes.barh([y + 0.2 for y in at], other, 0.4, label="raw or peer")
        labels = [
            "\n".join(textwrap.wrap(f"{row['operation']} (vs {row['raw_label']})", 70))
            for row in mine
        ]
        axes.set_yticks(list(at), labels, fontsize="small")
        axes.invert_yaxis()
        for y, row in zip(at, mine, strict=True):
            met = {True: "met", False: "NOT met", None: ""}[row.get("met")]
            target = f", target {row['target']} {met}" if row.get("target", "-") != "-" else ""
            axes.annotate(
                f" {row['ratio']:.3g}x{target}",
                (max(row["bridge"]["median"], row["raw"]["median"]), y),
                va="center",
                fontsize="x-small",
            )
        values = [v for v in bridge + other if v > 0]
        if values and max(values) > 100 * min(values):
            axes.set_xscale("log")
        axes.set_xlabel(unit)
        axes.grid(True, axis="x", alpha=0.3)
    figure.legend(*panels[0, 0].get_legend_handles_labels(), loc="upper right", fontsize="small")
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def draw_all(results: Path) -> list[Path]:
    """Draw one chart per phase of a results file, beside it; return the files written."""
    document = json.loads(results.read_text())
    people = document.get("settings", {}).get("people")
    drawn = []
    for phase, details in (document.get("phases") or {}).items():
        path = results.with_name(f"{results.stem}-{phase}.png")
        title = f"phase {phase}, {people:,} people ({results.name})" if people else phase
        rows = [row for row in document.get("results", []) if row["phase"] == phase]
        if phase == "mixed" and details.get("levels"):
            drawn.append(mixed_chart(details["levels"], title, path))
        elif rows:
            drawn.append(rows_chart(phase, rows, title, path))
    return drawn


def main(argv: Sequence[str]) -> int:
    """Draw the charts of each results file named; say which files were written."""
    if not argv:
        print("usage: python -m bench.charts RESULTS.json [...]", file=sys.stderr)
        return 2
    for name in argv:
        try:
            for path in draw_all(Path(name)):
                print(path)
        except (OSError, ValueError, KeyError) as error:
            print(f"bench.charts: {name}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
