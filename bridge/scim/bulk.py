"""/Bulk (RFC 7644 section 3.7): many operations in one request, with bulkId references.

Each operation is run as an in-process sub-request through the same views, checks and error
handlers as a single request (with the caller's token), so a bulk write is never allowed more
than the same writes one by one. An operation cannot be another bulk request, so a request
runs at most the ``maxOperations`` it carries. ``bulkId:<id>`` in a path or a data value is
replaced by the id of the resource an earlier operation created. Operations run in order;
``failOnErrors`` stops after that many errors. Each operation is atomic on its own; the bulk
request is not.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request

from bridge.errors import BridgeError
from bridge.scim.blueprint import PREFIX, blueprint, body, context
from bridge.scim.errors import BadRequest, TooLarge, UnresolvedBulkId, error_body_of, scim_json
from bridge.web import request_id

MAX_OPERATIONS = 1000  # published as bulk.maxOperations; maxPayloadSize is [scim]'s
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Marks a sub-request run for a bulk operation, whatever path spelling reached the view.
INSIDE_BULK = "mims.inside_bulk"


@blueprint.post("/Bulk")
def bulk() -> Response:
    """Run a BulkRequest and answer a BulkResponse (RFC 7644 section 3.7.3)."""
    if request.environ.get(INSIDE_BULK):
        raise BadRequest("an operation cannot be another bulk request")
    max_payload = context().config.scim.max_payload_bytes
    if (request.content_length or 0) > max_payload:
        raise TooLarge(f"a bulk request may carry at most {max_payload} bytes")
    document = {key.lower(): value for key, value in body().items()}
    operations = document.get("operations")
    if not isinstance(operations, list):
        raise BadRequest("a bulk request needs an 'Operations' list")
    if len(operations) > MAX_OPERATIONS:
        raise TooLarge(f"a bulk request may carry at most {MAX_OPERATIONS} operations")
    fail_on = document.get("failonerrors")
    if fail_on is not None and (not isinstance(fail_on, int) or fail_on < 1):
        raise BadRequest("failOnErrors must be a positive integer")
    created: dict[str, str] = {}
    results, errors = [], 0
    for operation in operations:
        result = _run(operation, created)
        results.append(result)
        if int(result["status"]) >= 400:
            errors += 1
            if fail_on is not None and errors >= fail_on:
                break
    return scim_json({"schemas": [BULK_RESPONSE], "Operations": results})


def _run(operation: Any, created: dict[str, str]) -> dict[str, Any]:
    """Run one operation as a sub-request and describe its outcome."""
    if not isinstance(operation, dict):
        return _failed({}, BadRequest("each operation must be an object"))
    fields = {key.lower(): value for key, value in operation.items()}
    method = str(fields.get("method", "")).upper()
    bulk_id = fields.get("bulkid")
    path = fields.get("path")
    outcome: dict[str, Any] = {"method": method}
    if bulk_id is not None:
        outcome["bulkId"] = bulk_id
    if method not in METHODS or not isinstance(path, str) or not path.startswith("/"):
        return _failed(outcome, BadRequest("each operation needs a method and a path"))
    if method == "POST" and not isinstance(bulk_id, str):
        return _failed(outcome, BadRequest("a POST in a bulk request needs a bulkId"))
    version = fields.get("version")
    if version is not None and not _entity_tag(version):
        return _failed(outcome, BadRequest('version must be an ETag, such as W/"..."'))
    try:
        path = _resolve(path, created)
        data = _resolve(fields.get("data"), created)
    except UnresolvedBulkId as error:
        return _failed(outcome, error)
    response = _dispatch(method, path, data, version)
    outcome["status"] = str(response.status_code)
    answer = response.get_json(silent=True) or {}
    location = (answer.get("meta") or {}).get("location") if isinstance(answer, dict) else None
    if response.status_code < 400:
        if location:
            outcome["location"] = location
        if response.headers.get("ETag"):
            outcome["version"] = response.headers["ETag"]
        if (
            method == "POST"
            and isinstance(bulk_id, str)
            and isinstance(answer, dict)
            and answer.get("id")
        ):
            created[bulk_id] = answer["id"]
    else:
        outcome["response"] = answer
    return outcome


def _entity_tag(value: Any) -> bool:
    """Return whether a value can be sent as If-Match: visible ASCII (RFC 7232 section 2.3)."""
    return isinstance(value, str) and value.isascii() and value.isprintable()


def _dispatch(method: str, path: str, data: Any, version: str | None) -> Response:
    """Run a sub-request through the app, with this request's credentials and request id."""
    headers = {"Authorization": request.headers.get("Authorization", "")}
    if version is not None:
        headers["If-Match"] = version
    payload = json.dumps(data) if data is not None else None
    with current_app.test_request_context(
        PREFIX + path,
        method=method,
        data=payload,
        headers=headers,
        content_type="application/scim+json",
        base_url=request.host_url,
        environ_base={
            request_id.ENVIRON_KEY: request_id.current(),
            INSIDE_BULK: True,
            "REMOTE_ADDR": request.remote_addr or "",  # the audit trail's source
        },
    ):
        response = current_app.full_dispatch_request()
    return response


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace ``bulkId:<id>`` references with the ids created so far (section 3.7.2)."""
    if isinstance(value, str):
        if "bulkId:" not in value:
            return value
        head, _, reference = value.partition("bulkId:")
        key = reference.split("/")[0]
        if key not in created:
            raise UnresolvedBulkId(
                f"bulkId {key!r} names no resource created before this operation"
            )
        return head + created[key] + reference[len(key) :]
    if isinstance(value, list):
        return [_resolve(item, created) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, created) for key, item in value.items()}
    return value


def _failed(outcome: dict[str, Any], error: BridgeError) -> dict[str, Any]:
    """Describe an operation refused before it ran, rendered as a single request would be."""
    return outcome | {"status": str(error.status), "response": error_body_of(error)}
