"""Prometheus metrics: their definitions, the counters the ports report to, scrape-time readers.

Above the directory and below the front doors: front doors and web plumbing count through it,
the directory reports through its own small hook (``bridge.directory.client``), which the
wiring connects here. The core knows none of it (it reports through ``core.ports.Outcomes``).
"""
