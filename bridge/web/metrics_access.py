"""Who may read /metrics: ``[metrics] allow`` addresses, or the holder of the token.

Kept apart from ``metrics.py`` (which defines the metrics on import) so that ``mims serve``
can check the token file before gunicorn forks, with one clear line when it is wrong.
"""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path

from bridge.config import MetricsConfig
from bridge.errors import ConfigError


class Access:
    """Who may read /metrics: allowed networks, or the holder of the token."""

    def __init__(self, config: MetricsConfig) -> None:
        self.networks = config.networks
        self.token = read_token(config.token_file) if config.token_file else ""

    def admits(self, address: str | None, authorization: str | None) -> bool:
        """Return whether this client address or Authorization header may scrape."""
        if self.token and authorization:
            scheme, _, sent = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                sent.strip().encode(), self.token.encode()
            ):
                return True
        try:
            client = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(client in network for network in self.networks)


def read_token(path: str) -> str:
    """Return the token in ``path``; ConfigError when it is missing, empty or readable by others."""
    file = Path(path).expanduser()
    try:
        mode = file.stat().st_mode
        token = file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"[metrics] token_file: cannot read {file}: {error.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"[metrics] token_file: {file} is readable by others; chmod 600 it")
    if not token:
        raise ConfigError(f"[metrics] token_file: {file} is empty")
    return token
