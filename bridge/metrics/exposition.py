"""The text a scrape gets: every worker's counts (multiprocess mode) and the scrape-time figures."""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bridge.metrics.multiprocess import VARIABLE
from bridge.metrics.scrape import Registered

CONTENT_TYPE = CONTENT_TYPE_LATEST
__all__ = ["CONTENT_TYPE", "Collector", "render"]


def render(collectors: Iterable[Collector]) -> bytes:
    """Return Prometheus's text format for the counted metrics and ``collectors``."""
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(VARIABLE)
    if folder:
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(Registered())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)
