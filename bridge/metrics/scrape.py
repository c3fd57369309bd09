"""Figures read when Prometheus scrapes: sync targets, slapd's cn=Monitor, certificates.

These are read fresh from their source by the worker that answers the scrape, so they need no
multiprocess bookkeeping. A source that fails is left out of that scrape (and logged), never
turned into an error page: the other figures still arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.core.monitor import ServerFigures
from bridge.core.sync import TargetStatus
from bridge.metrics import definitions as m

log = logging.getLogger(__name__)


class SyncCollector(Collector):
    """Each downstream target's state, as the directory keeps it (ou=sync,ou=services)."""

    def __init__(self, statuses: Callable[[], Iterable[TargetStatus]]) -> None:
        self.statuses = statuses

    def collect(self) -> Iterator[Metric]:
        """Yield lag, changes, queue depth, dead letters and last success per target."""
        labels = ["target"]
        lag = GaugeMetricFamily(
            m.SYNC_LAG,
            "Age of the oldest change a target has not confirmed (0: none).",
            labels=labels,
        )
        changes = CounterMetricFamily(
            m.SYNC_CHANGES, "Changes a target confirmed, in all.", labels=labels
        )
        depth = GaugeMetricFamily(
            m.SYNC_QUEUE_DEPTH, "Changes a target has not confirmed yet.", labels=labels
        )
        dead = GaugeMetricFamily(
            m.SYNC_DEAD_LETTERS, "Changes a target refused, kept to retry.", labels=labels
        )
        last = GaugeMetricFamily(
            m.SYNC_LAST_SUCCESS, "When a target last confirmed a run (Unix time).", labels=labels
        )
        try:
            statuses = list(self.statuses())
        except Exception:
            log.warning("sync state could not be read for /metrics", exc_info=True)
            return
        now = datetime.now(UTC)
        for status in statuses:
            name = [status.name]
            changes.add_metric(name, status.pushed)
            dead.add_metric(name, status.dead_letters)
            if status.pending is not None:
                depth.add_metric(name, status.pending)
                oldest = status.oldest_pending
                lag.add_metric(name, (now - oldest).total_seconds() if oldest else 0.0)
            if status.last_success is not None:
                last.add_metric(name, status.last_success.timestamp())
        yield from (lag, changes, depth, dead, last)


class MonitorCollector(Collector):
    """slapd's own figures from its monitor backend (the managed slapd has it)."""

    def __init__(self, read: Callable[[], ServerFigures | None]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        """Yield slapd's connections, completed operations and waiters, when it tells them."""
        figures = self.read()
        if figures is None:
            return
        connections = GaugeMetricFamily(m.SLAPD_CONNECTIONS, "Connections slapd has open now.")
        connections.add_metric([], figures.connections)
        operations = CounterMetricFamily(
            m.SLAPD_OPERATIONS,
            "Operations slapd completed since it started, by kind.",
            labels=["operation"],
        )
        for kind, count in sorted(figures.operations.items()):
            operations.add_metric([kind], count)
        waiters = GaugeMetricFamily(
            m.SLAPD_WAITERS, "Connections waiting for slapd to read or write.", labels=["kind"]
        )
        for kind, count in sorted(figures.waiters.items()):
            waiters.add_metric([kind], count)
        yield from (connections, operations, waiters)


class ReplicationCollector(Collector):
    """How far each other provider is behind the write target (several providers only)."""

    def __init__(self, lags: Callable[[], Mapping[str, float]]) -> None:
        self.lags = lags

    def collect(self) -> Iterator[Metric]:
        """Yield one lag per other provider that answered; nothing with a single server."""
        lags = self.lags()
        if not lags:
            return
        family = GaugeMetricFamily(
            m.REPLICATION_LAG,
            "Seconds a provider's newest changes are behind the write target's, per provider.",
            labels=["peer"],
        )
        for peer, seconds in sorted(lags.items()):
            family.add_metric([peer], seconds)
        yield family


class CertificateCollector(Collector):
    """When each certificate the bridge serves stops being valid."""

    def __init__(self, files: Callable[[], Mapping[str, Path]]) -> None:
        self.files = files

    def collect(self) -> Iterator[Metric]:
        """Yield each readable certificate's notAfter as Unix time."""
        family = GaugeMetricFamily(
            m.CERTIFICATE_EXPIRY,
            "When a served certificate expires (Unix time): https, ldap, password_service.",
            labels=["certificate"],
        )
        for name, path in sorted(self.files().items()):
            expiry = _not_after(path)
            if expiry is not None:
                family.add_metric([name], expiry)
        yield family


def _not_after(path: Path) -> float | None:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    return certificate.not_valid_after_utc.timestamp()


class Registered(Collector):
    """The metrics this process counts itself (no multiprocess folder: tests, one process)."""

    def collect(self) -> Iterator[Metric]:
        """Yield the registry's metrics."""
        yield from m.REGISTRY.collect()
