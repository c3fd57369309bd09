"""Health endpoints for load balancers and orchestrators (docs/operations.md, "Health").

``/livez`` (and its old name ``/healthz``) says the process answers and touches nothing else;
``/readyz`` runs the readiness checks (``bridge.core.health``) and answers 503 when the
directory fails them, naming each check and its verdict.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from bridge.core.health import Readiness, ready

blueprint = Blueprint("health", __name__)


@blueprint.get("/livez")
@blueprint.get("/healthz")
def livez() -> tuple[dict[str, str], int]:
    """Say the process is up; never touches the directory."""
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """Say whether this process can serve, and which check failed if it cannot."""
    readiness: Readiness = current_app.extensions["mims.readiness"]
    checks = readiness.checks()
    body = {
        "status": "ready" if ready(checks) else "unavailable",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return body, 200 if ready(checks) else 503
