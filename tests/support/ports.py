"""Free TCP ports for tests: each pytest-xdist worker takes them from a band of its own.

The kernel's choice (``bridge.directory.slapd.free_port``) is free when asked but can be handed
to another worker, or taken as the local port of an outgoing connection, before the server the
test starts has bound it. Bands below the kernel's ephemeral range (32768-60999 on Linux) rule
out both; a random start in the band keeps two test sessions on one machine apart.
"""

from __future__ import annotations

import itertools
import os
import random

from bridge.directory.slapd import port_in_use

FIRST = 20000
LAST = 32000  # below the ephemeral range, which outgoing connections take their ports from


def _band() -> range:
    """Return this process's ports: one band per xdist worker (gw0, gw1...), one when serial."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker.removeprefix("gw")) + 1 if worker else 0
    size = (LAST - FIRST) // (workers + 1)
    return range(FIRST + index * size, FIRST + (index + 1) * size)


_BAND = _band()
_NEXT = itertools.count(random.randrange(len(_BAND)))


def free_port() -> int:
    """Return a port of this worker's band that nothing listens on, a different one each call."""
    for _ in range(len(_BAND)):
        port = _BAND[next(_NEXT) % len(_BAND)]
        if not port_in_use(port):
            return port
    raise RuntimeError(f"no free port in {_BAND.start}-{_BAND.stop - 1}")
