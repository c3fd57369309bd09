"""Run the bridge under gunicorn, the production WSGI server, from inside ``mims serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from bridge.config import Config


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
            "threads": http.threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "graceful_timeout": 10,
            "proc_name": "mims-bridge",
            "control_socket_disable": True,
            # The app decides whom to believe ([http] trusted_proxies, bridge.web.proxies);
            # gunicorn's own default would take X-Forwarded-Proto from any local process.
            "forwarded_allow_ips": "",
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
        from bridge.app import create_app

        return create_app(self.bridge_config)
