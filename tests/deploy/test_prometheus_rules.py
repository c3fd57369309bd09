"""deploy/prometheus/alerts.yml as shipped: valid rules over exported metrics, each with a runbook.

`promtool check rules` (Prometheus' own check) runs when promtool is installed. It is not in
`make test`'s packages: Debian ships it only inside `prometheus` (96 MB with a web UI's
JavaScript, and a server its install starts as a service). Without it the rules' PromQL is
still parsed (promql-parser) and their shape checked here. With it, `promtool test rules`
also runs alerts_test.yml: series in, which alerts fire (with their words) out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import (
    ALERTS,
    OPERATIONS,
    anchors,
    exported_names,
    rule_queries,
    rules,
)

PROMTOOL = shutil.which("promtool")
CASES = Path(__file__).with_name("alerts_test.yml")
RULES = rules()
# What issue 23 asks the alerts to watch, by the alert that does it.
REQUIRED = {
    "MimsSignInFailureRatioHigh",
    "MimsLockoutSpike",
    "MimsDirectoryLatencyHigh",
    "MimsDirectoryUnavailable",
    "MimsDirectoryFailover",
    "MimsSyncLagHigh",
    "MimsSyncDeadLetters",
    "MimsCertificateExpiring",
    "MimsCertificateExpiryCritical",
}
DURATION = re.compile(r"^(\d+[smhdwy])+$")
RUNBOOK = re.compile(r"^docs/operations\.md#([a-z0-9-]+)$")


def by_alert() -> list[Any]:
    return [pytest.param(rule, id=rule["alert"]) for rule in RULES]


def test_the_asked_for_alerts_are_there_once_each() -> None:
    names = [rule["alert"] for rule in RULES]
    assert len(names) == len(set(names))
    assert REQUIRED <= set(names), sorted(REQUIRED - set(names))


@pytest.mark.parametrize("rule", by_alert())
def test_an_alert_has_a_wait_a_severity_and_words(rule: dict[str, Any]) -> None:
    assert DURATION.match(str(rule["for"])), rule["for"]
    assert rule["labels"]["severity"] in {"warning", "critical"}
    for key in ("summary", "description"):
        assert rule["annotations"][key].strip()


@pytest.mark.parametrize("rule", by_alert())
def test_an_alert_points_at_its_runbook_in_the_operations_guide(rule: dict[str, Any]) -> None:
    match = RUNBOOK.match(rule["annotations"]["runbook_url"])
    assert match, rule["annotations"]["runbook_url"]
    assert match.group(1) == rule["alert"].lower()
    assert match.group(1) in anchors(OPERATIONS), f"docs/operations.md has no {match.group(0)}"


@pytest.mark.parametrize("query", [pytest.param(q, id=q.where) for q in rule_queries()])
def test_a_rule_uses_only_exported_metrics(query: Any) -> None:
    names = query.names()
    assert names
    unknown = names - exported_names()
    assert not unknown, f"{query.where}: {sorted(unknown)} is not exported by the bridge"


def test_certificate_alerts_warn_at_21_days_and_page_at_7() -> None:
    expressions = {rule["alert"]: " ".join(rule["expr"].split()) for rule in RULES}
    assert expressions["MimsCertificateExpiring"].endswith("< 21 * 86400")
    assert expressions["MimsCertificateExpiryCritical"].endswith("< 7 * 86400")
    severity = {rule["alert"]: rule["labels"]["severity"] for rule in RULES}
    assert severity["MimsCertificateExpiryCritical"] == "critical"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (Debian package prometheus)")
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in checked.stdout


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (Debian package prometheus)")
def test_the_alerts_fire_on_the_series_they_are_for() -> None:
    assert PROMTOOL is not None
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(CASES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
