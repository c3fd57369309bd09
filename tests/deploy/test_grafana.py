"""deploy/grafana/mims-bridge.json as shipped: well formed, and asking only for exported metrics."""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest

from tests.support.prometheus import (
    Query,
    dashboard,
    dashboard_queries,
    exported_names,
    panels,
    selectors_under,
)

BOARD = dashboard()
QUERIES = dashboard_queries(BOARD)
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
FILTERS = {"job": "$job", "instance": "$instance"}


def by_where(queries: list[Query]) -> list[Any]:
    return [pytest.param(query, id=query.where) for query in queries]


def test_it_is_a_grafana_dashboard_with_a_prometheus_datasource_variable() -> None:
    assert BOARD["schemaVersion"] >= 39
    assert BOARD["uid"] == "mims-bridge"
    variables = {variable["name"]: variable for variable in BOARD["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    for name in FILTERS:
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"] == DATASOURCE
        assert variables[name]["includeAll"] and variables[name]["multi"]


def test_every_panel_reads_from_the_chosen_prometheus() -> None:
    for panel in panels(BOARD):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_panels_are_grouped_in_rows_with_unique_ids() -> None:
    top = BOARD["panels"]
    assert top[0]["type"] == "row"
    rows = [panel["title"] for panel in top if panel["type"] == "row"]
    assert len(rows) == len(set(rows)) >= 6
    ids = [panel["id"] for panel in panels(BOARD)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("query", by_where(QUERIES))
def test_a_query_uses_only_exported_metrics(query: Query) -> None:
    unknown = query.names() - exported_names()
    assert not unknown, f"{query.where}: {sorted(unknown)} is not exported by the bridge"


@pytest.mark.parametrize("query", by_where(QUERIES))
def test_a_query_follows_the_job_and_instance_variables(query: Query) -> None:
    for selector in query.selectors():
        matchers = {m.name: m.value for m in selector.matchers.matchers}
        for label, value in FILTERS.items():
            assert matchers.get(label) == value, f"{query.where}: {selector.name} ignores ${label}"


def test_quantiles_are_taken_over_histogram_buckets() -> None:
    quantiles = [call for query in QUERIES for call in query.calls("histogram_quantile")]
    assert quantiles, "no latency panel"
    for call in quantiles:
        names = {selector.name for selector in selectors_under(call)}
        assert names and all(name.endswith("_bucket") for name in names), names


def test_every_exported_metric_has_a_panel() -> None:
    shown = {name for query in QUERIES for name in query.names()}
    bases = {_base(name) for name in shown}
    missing = sorted(
        name
        for name in exported_names()
        if name.startswith("mims_") and not name.endswith("_created") and _base(name) not in bases
    )
    assert not missing, f"no panel shows {missing}"


def test_a_wrong_metric_name_would_be_caught() -> None:
    query = Query("probe", "x", promql_parser.parse("rate(mims_sign_in_total[5m])"))
    assert query.names() - exported_names() == {"mims_sign_in_total"}


def _base(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name
