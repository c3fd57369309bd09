"""Believe a reverse proxy's X-Forwarded-For and X-Forwarded-Proto only from trusted peers.

Rate limits count per client address and HSTS and Secure cookies follow the scheme, so a
header anyone can send must not move either: werkzeug's ProxyFix is applied to a request
only when its direct peer is one of ``[http] trusted_proxies``, and then for one hop (the
address that proxy appended, the scheme it saw), and ``TRUSTED_KEY`` marks the request so its
``X-Request-Id`` may be kept (``request_id.py``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Set in the WSGI environ of a request whose direct peer is a trusted proxy.
TRUSTED_KEY = "mims.trusted_proxy"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from a trusted proxy, nothing for the others."""

    def __init__(self, app: WSGIApplication, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Pass the request on, through ProxyFix when the peer is trusted."""
        if self.trusts(environ.get("REMOTE_ADDR", "")):
            environ[TRUSTED_KEY] = True
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)

    def trusts(self, peer: str) -> bool:
        """Return whether ``peer`` (an address) is one of the trusted proxies."""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)
