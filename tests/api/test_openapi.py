"""/openapi.json: served as the package ships it, and in step with the app's routes."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient

from bridge.web.openapi import document_text

DOCUMENTED = ("/scim/v2", "/sspr/api", "/admin/api", "/livez", "/healthz", "/readyz")
METHODS = {"get", "put", "post", "patch", "delete"}


def _routes(app: Flask) -> set[tuple[str, str]]:
    """Return (method, path) of every route under the documented prefixes, parameters as {}."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(DOCUMENTED):
            continue
        path = re.sub(r"<[^<>]+>", "{}", rule.rule)
        found |= {
            (method.lower(), path) for method in rule.methods or () if method.lower() in METHODS
        }
    return found


def _documented(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method, re.sub(r"{[^}]+}", "{}", path))
        for path, item in paths.items()
        for method in item
        if method in METHODS
    }


def test_the_document_is_served_without_a_token(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(document_text())
    assert response.get_json()["openapi"].startswith("3.1")


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask) -> None:
    routes = _routes(app)
    documented = _documented(json.loads(document_text()))
    assert routes, "no routes found under the documented prefixes"
    assert routes - documented == set(), "routes the document does not describe"
    assert documented - routes == set(), "the document describes routes the app lacks"
