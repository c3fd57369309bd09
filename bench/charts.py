"""PNG charts of a run, drawn with matplotlib beside its JSON (``<json-stem>-<phase>.png``).

matplotlib is imported only when a chart is drawn, with the Agg backend (no display, no GUI
toolkit), so the rest of the benchmark and the tests that import it do not pay for it.
"""

from __future__ import annotations

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
    rates.set_ylim(bottom=0)
    rates.set_title("throughput")
    tails.set_yscale("log")
    tails.set_ylabel("latency, ms (solid p99, dotted p50)")
    tails.set_title("latency per operation")
    rates.legend(fontsize="small")
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
