"""SCIM over the Flask test client: the schema URNs, a client with a token, error checks."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

BASE = "/scim/v2"
SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Scim:
    """The Flask test client with a bearer token and SCIM JSON on every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, json: Any = None, **headers: str) -> TestResponse:
        kwargs: dict[str, Any] = {"headers": self.headers | headers}
        if json is not None:
            kwargs["json"] = json
            kwargs["content_type"] = SCIM_JSON
        return self.client.open(BASE + path, method=method, **kwargs)

    def get(self, path: str, **headers: str) -> TestResponse:
        return self.request("GET", path, **headers)

    def post(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("POST", path, json, **headers)

    def put(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("PUT", path, json, **headers)

    def patch(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("PATCH", path, json, **headers)

    def delete(self, path: str, **headers: str) -> TestResponse:
        return self.request("DELETE", path, **headers)


def new_user(scim: Scim, **fields: Any) -> dict[str, Any]:
    """POST a User (Mary Tan unless ``fields`` say otherwise) and return its body."""
    document = {"schemas": [USER], "name": {"formatted": "Mary Tan"}} | fields
    response = scim.post("/Users", document)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def is_error(response: TestResponse, status: int, scim_type: str | None = None) -> bool:
    """Whether a response is an RFC 7644 error body with this status (and scimType)."""
    body = response.get_json(force=True)
    ok = (
        response.status_code == status
        and response.mimetype == SCIM_JSON
        and body["schemas"] == [ERROR]
        and body["status"] == str(status)
        and bool(body.get("detail"))
    )
    return ok and (scim_type is None or body.get("scimType") == scim_type)
