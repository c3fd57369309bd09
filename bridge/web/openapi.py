"""``/openapi.json``: the OpenAPI document of the SCIM and portal APIs, for clients and fuzzers.

The document is a file in the package (``openapi.json`` beside this module), written by hand;
tests/api/test_openapi.py keeps it in step with the routes, and schemathesis checks the app
against it.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response

blueprint = Blueprint("openapi", __name__)
DOCUMENT = "openapi.json"


def document_text() -> str:
    """Return the OpenAPI document as the package ships it."""
    return files(__package__).joinpath(DOCUMENT).read_text(encoding="utf-8")


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document (no authentication: it describes, it holds no data)."""
    return Response(document_text(), content_type="application/json")
