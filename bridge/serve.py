"""Run the bridge under gunicorn from inside ``mims serve``: its asyncio worker, the app in threads.

Each worker reads requests on an event loop and runs the Flask app in a pool of ``[http]
threads`` threads once a request's body is in (bridge.web.front): a slow or hostile client
holds a connection, never a thread. Why: docs/decisions.md, "Slow clients".
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bridge.config import Config
from bridge.metrics import multiprocess

# Open connections one worker keeps (gunicorn's default); slow clients wait on the event loop,
# so this, not the thread count, is how many a worker can hold at once.
WORKER_CONNECTIONS = 1000
M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h): the most arenas malloc makes


class GunicornLogs(Logger):  # type: ignore[misc]
    """gunicorn's lines through the bridge's one handler (``bridge.web.logs``), in its format.

    gunicorn's access log is off: the app writes one line per request itself
    (``bridge.web.request_log``), with the route template, the request id and the actor.
    """

    def setup(self, cfg: Any) -> None:
        """Let gunicorn set its loggers up, then hand its error lines to the root logger."""
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class BridgeServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose settings come from the bridge's config, not argv."""

    def __init__(self, config: Config) -> None:
        self.bridge_config = config
        super().__init__()

    def load_config(self) -> None:
        """Give gunicorn the listener and worker settings."""
        http = self.bridge_config.http
        settings: dict[str, Any] = {
            "bind": f"{http.host}:{http.port}",
            "workers": http.workers,
            "worker_class": "asgi",
            "worker_connections": WORKER_CONNECTIONS,
            "accesslog": None,
            "errorlog": "-",
            "logger_class": GunicornLogs,
            "loglevel": self.bridge_config.log.level,
            "graceful_timeout": 10,
            "proc_name": "mims-bridge",
            "control_socket_disable": True,
            # The app decides whom to believe ([http] trusted_proxies, bridge.web.proxies);
            # gunicorn's own default would take X-Forwarded-Proto from any local process.
            "forwarded_allow_ips": "",
            # A dead worker's live gauges (held LDAP connections) stop counting in /metrics.
            "child_exit": multiprocess.child_exit,
        }
        if http.https:
            # The same files bridge.web.certificates checked before the start.
            settings |= {
                "certfile": str(Path(http.tls_cert).expanduser()),
                "keyfile": str(Path(http.tls_key).expanduser()),
            }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app in each worker, after the fork, so no connection is shared."""
        from bridge import console, scim, sspr
        from bridge.app import create_app
        from bridge.web.front import Front

        one_malloc_arena()
        config = self.bridge_config
        limits = [scim.body_limit(config), sspr.body_limit(), console.body_limit()]
        return Front(create_app(config), limits, threads=config.http.threads)


def one_malloc_arena() -> bool:
    """Make this process's threads share one glibc malloc arena; return whether it took.

    glibc gives a thread that allocates while another does an arena of its own (up to 8 per
    core) and keeps there what a large response freed. With each of a worker's ``[http]
    threads`` in its own, a walk in pages of 1,000 grew the bridge by 13-15 MB; sharing one,
    by 6 MB, with lookups and writes as fast (bench/README.md, "one malloc arena a worker").
    Called in each worker before its threads start. ``MALLOC_ARENA_MAX``, when the operator
    sets it, wins; where there is no glibc ``mallopt``, nothing changes.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    return bool(mallopt(M_ARENA_MAX, 1)) if mallopt is not None else False
