"""The shipped dashboard's and alert rules' PromQL, and the metric names the bridge exports.

Queries are parsed with promql-parser (Python bindings of GreptimeDB's Rust PromQL parser), so
a metric name is what the parser says is a selector, not what a regular expression guesses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "mims-bridge.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

# Sample names prometheus-client writes for each family type (exposition format 0.0.4).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# Grafana's interval variables stand where PromQL wants a duration.
_GRAFANA_DURATION = re.compile(r"\$__(rate_interval|interval|range)\b")


def exported_names() -> set[str]:
    """Return every sample name the bridge exports, read from its live metric registry.

    The registry's families give base names and types (a counter ``mims_lockouts`` is scraped
    as ``mims_lockouts_total``); the figures read from the directory at scrape time are named
    in ``definitions.SCRAPED``.
    """
    from bridge.metrics import definitions

    names = set(definitions.SCRAPED)
    for family in definitions.REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


@dataclass(frozen=True)
class Query:
    """One PromQL expression, where it came from, and its parse."""

    where: str
    text: str
    tree: promql_parser.Expr

    def selectors(self) -> list[promql_parser.VectorSelector]:
        """Return every series selector in the expression."""
        return _selectors(self.tree)

    def names(self) -> set[str]:
        """Return the metric names the expression reads."""
        return {s.name for s in self.selectors() if s.name}

    def calls(self, function: str) -> list[promql_parser.Call]:
        """Return every call of ``function`` in the expression."""
        found: list[promql_parser.Call] = []

        def visit(node: Any) -> None:
            if isinstance(node, promql_parser.Call) and node.func.name == function:
                found.append(node)

        promql_parser.walk(self.tree, visit)
        return found


def parse(where: str, text: str) -> Query:
    """Parse ``text`` as PromQL (Grafana's interval variables read as 5m); raise ValueError."""
    return Query(where, text, promql_parser.parse(_GRAFANA_DURATION.sub("5m", text)))


def selectors_under(node: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    """Return the series selectors inside ``node`` (a part of a parsed query)."""
    return _selectors(node)


def dashboard() -> dict[str, Any]:
    """Return the shipped dashboard as JSON."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every panel, rows' collapsed panels included, rows themselves too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(board: dict[str, Any]) -> list[Query]:
    """Return each panel target's expression, parsed."""
    return [
        parse(f"panel {panel['title']!r} target {target['refId']}", target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


def rules() -> list[dict[str, Any]]:
    """Return every rule of the shipped alerts file."""
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def rule_queries() -> list[Query]:
    """Return each rule's expression, parsed."""
    return [parse(f"rule {rule['alert']}", rule["expr"]) for rule in rules()]


def anchors(markdown: Path) -> set[str]:
    """Return the anchors GitHub makes for the headings of ``markdown``."""
    found = set()
    fenced = False
    for line in markdown.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} (.+)", line)):
            title = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            found.add(title.replace(" ", "-"))
    return found


def _selectors(node: Any) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(part: Any) -> None:
        if isinstance(part, promql_parser.VectorSelector):
            found.append(part)

    promql_parser.walk(node, visit)
    return found
