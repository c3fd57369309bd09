"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app

from bridge.core.ports import HealthCheck
from bridge.errors import DirectoryUnavailable

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Say the process is up; never touches the directory."""
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    """Say whether the directory answers, so a balancer only sends traffic that can succeed."""
    directory: HealthCheck = current_app.extensions["mims.health"]
    try:
        directory.ping()
    except DirectoryUnavailable:
        return {"status": "unavailable", "detail": "the directory does not answer"}, 503
    return {"status": "ready"}, 200
