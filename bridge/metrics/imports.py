"""``mims import``'s rows and progress, written into a serving host's metrics folder."""

from __future__ import annotations

from bridge.core.roster import Summary
from bridge.metrics import definitions as m


class ImportMetrics:
    """Progress while the import runs (0 to 1); rows by result once it is done."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        m.IMPORT_PROGRESS.set(0.0)

    def progress(self, done: int) -> None:
        """Note ``done`` more rows."""
        self.done += done
        m.IMPORT_PROGRESS.set(min(1.0, self.done / self.total) if self.total else 1.0)

    def finished(self, summary: Summary) -> None:
        """Count the rows by result."""
        for result, count in (
            ("added", summary.created),
            ("updated", summary.updated),
            ("unchanged", summary.unchanged),
            ("failed", summary.rejected),
        ):
            m.IMPORT_ROWS.labels(result).inc(count)
