"""``GET /metrics`` and the HTTP counts: every request by route template, method and status.

The route label is the Flask rule (``/scim/v2/Users/<id>``), never the path, so no login ID or
id in a URL becomes a label; a request no rule matched counts as ``unmatched``. /metrics
answers only a client address in ``[metrics] allow`` (the address ``bridge.web.proxies``
believes) or a bearer token equal to ``[metrics] token_file``'s (compared in constant time);
anyone else gets 404, the answer for a page that does not exist, so a scan learns nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from bridge.config import MetricsConfig
from bridge.metrics import definitions as m
from bridge.metrics.exposition import CONTENT_TYPE, Collector, render
from bridge.web.metrics_access import Access

blueprint = Blueprint("metrics", __name__)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SCIM_ROOT = "/scim/v2/"
_EXTENSION = "mims.metrics"


def init_app(app: Flask, config: MetricsConfig, collectors: Sequence[Collector]) -> None:
    """Count every request, and serve /metrics to those ``config`` allows."""
    app.extensions[_EXTENSION] = (Access(config), tuple(collectors))
    app.before_request(_start)
    app.after_request(_count)
    app.register_blueprint(blueprint)


@blueprint.get("/metrics")
def metrics() -> Response:
    """Return every metric in Prometheus's text format, or 404 to a client not allowed."""
    access, collectors = current_app.extensions[_EXTENSION]
    if not access.admits(request.remote_addr, request.headers.get("Authorization")):
        abort(404)
    return Response(render(collectors), content_type=CONTENT_TYPE)


def _start() -> None:
    g.mims_metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"
    method = request.method if request.method in METHODS else "other"
    status = str(response.status_code)
    m.HTTP_REQUESTS.labels(route, method, status).inc()
    started = g.get("mims_metrics_started")
    if started is not None:
        m.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)
    if route.startswith(SCIM_ROOT):
        resource = route[len(SCIM_ROOT) :].split("/", 1)[0] or "root"
        resource = "other" if "<" in resource else resource
        m.SCIM_OPERATIONS.labels(resource, method, status).inc()
    return response
