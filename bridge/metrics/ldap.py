"""The client home's reports (``bridge.directory.observation``) as Prometheus metrics."""

from __future__ import annotations

from bridge.metrics import definitions as m


class LdapMetrics:
    """Count LDAP operations, held connections, failovers and quarantined servers."""

    def operation(self, kind: str, result: str, seconds: float) -> None:
        """Count one operation and observe its time."""
        m.LDAP_OPERATIONS.labels(kind, result).inc()
        m.LDAP_DURATION.labels(kind).observe(seconds)

    def connections(self, library: str, change: int) -> None:
        """Move the held-connections gauge of one library."""
        m.LDAP_CONNECTIONS.labels(library).inc(change)

    def failover(self) -> None:
        """Count a failover."""
        m.LDAP_FAILOVERS.inc()

    def quarantined(self, count: int) -> None:
        """Set how many servers this process has set aside."""
        m.LDAP_QUARANTINED.set(count)
