"""The Flask application factory: the only place where the web app is put together."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from bridge import console, scim, sspr
from bridge.config import Config, load_config
from bridge.core.ports import Outcomes
from bridge.directory import observation
from bridge.directory.client import LdapClient
from bridge.services import Backend
from bridge.web import audit, health, openapi, request_id, request_log
from bridge.web.proxies import TrustedProxies


def create_app(config: Config | None = None, client: LdapClient | None = None) -> Flask:
    """Build the bridge's WSGI app over the configured directory (no connection opened yet)."""
    config = config or load_config()
    outcomes: Outcomes | None = None
    if config.metrics.enabled:
        from bridge.metrics.ldap import LdapMetrics
        from bridge.metrics.outcomes import CountedOutcomes

        observation.observe_with(LdapMetrics())
        outcomes = CountedOutcomes()
    backend = Backend(config, client, outcomes)
    app = Flask("bridge")
    app.config["MIMS"] = config
    app.extensions["mims.health"] = backend.services.health
    app.extensions["mims.readiness"] = backend.readiness()
    app.extensions["mims.requests"] = backend.request_desk()
    request_log.init_app(app)  # first: its timer starts before, its line is written after all
    request_id.init_app(app)
    audit.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(openapi.blueprint)
    if config.metrics.enabled:
        _serve_metrics(app, backend)
    sspr.init_app(app, config, backend.services)
    scim.init_app(app, config, backend.services)
    console.init_app(app, config, backend.services, backend.admin_console())
    app.register_error_handler(Exception, _internal_error)
    if config.http.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, config.http.proxy_networks)  # type: ignore[method-assign]
    return app


def _serve_metrics(app: Flask, backend: Backend) -> None:
    """Count requests and serve /metrics, with the figures read at scrape time."""
    from bridge.metrics.scrape import (
        CertificateCollector,
        MonitorCollector,
        ReplicationCollector,
        SyncCollector,
    )
    from bridge.web import metrics

    collectors = [
        SyncCollector(backend.sync_statuses),
        MonitorCollector(backend.server_figures),
        CertificateCollector(backend.certificate_files),
        ReplicationCollector(backend.replication_lags),
    ]
    metrics.init_app(app, backend.config.metrics, collectors)


def _internal_error(error: Exception) -> tuple[dict[str, str], int] | HTTPException:
    """Log an unexpected error with its traceback; tell the client only the request id."""
    if isinstance(error, HTTPException):
        return error
    request_log.name_error("internal")
    return {"status": "error", "detail": request_id.internal_error(error, "a request")}, 500
