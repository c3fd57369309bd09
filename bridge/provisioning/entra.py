"""Request bodies for Microsoft Entra ID's API-driven inbound provisioning (``bulkUpload``).

Entra takes people from a system of record at
``POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload`` (Microsoft Graph), with
``Content-Type: application/scim+json``, as a SCIM BulkRequest (RFC 7644 section 3.7). What
Microsoft documents for that body (Graph's "bulkUpload resource type" and "Perform bulkUpload"
pages), and so what this module builds:

- ``schemas`` is ``[urn:ietf:params:scim:api:messages:2.0:BulkRequest]``; ``failOnErrors`` is
  sent, ``null`` in every documented example.
- At most 50 operations per request (and 40 requests per second per tenant).
- Every operation is ``method: POST`` with ``path: /Users`` and a unique ``bulkId``: Entra
  itself decides create, update, enable or disable by matching on the job's matching attribute
  (``externalId`` by default), so a deactivation is a POST with ``active: false``.
- ``data.schemas`` holds the core User and the enterprise extension URNs (other namespaces
  may follow, for attributes the job maps); ``data.externalId`` is the source system's unique
  ID and is required.
- ``manager.value`` (enterprise extension) is the *manager's externalId*, not an Entra or
  bridge id.

Requests are processed asynchronously by Entra; the 202 it answers only means "staged".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from bridge.errors import InvalidValue

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTENT_TYPE = "application/scim+json"
MAX_OPERATIONS = 50

# Server-side or secret attributes of a SCIM User that never go to Entra.
_NOT_SENT = {"id", "meta", "groups", "password"}


def bulk_requests(
    users: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = MAX_OPERATIONS,
    fail_on_errors: int | None = None,
    manager_external_id: Callable[[str], str | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Turn SCIM User documents into bulkUpload bodies of at most ``batch_size`` operations.

    Each user becomes one POST operation whose ``bulkId`` is its ``externalId``; if one
    request would hold the same person twice, the later document (the newer state) replaces
    the earlier, so a request never names a person twice. ``manager_external_id`` maps a
    ``manager.value`` (the bridge's id of the manager) to the manager's externalId, which is
    what Entra resolves; without it, or when it returns None, ``manager`` is left out rather
    than sent as an id Entra cannot match.
    """
    if not 1 <= batch_size <= MAX_OPERATIONS:
        raise InvalidValue(
            f"Entra takes 1 to {MAX_OPERATIONS} operations per bulkUpload request, "
            f"not {batch_size}."
        )
    batch: dict[str, dict[str, Any]] = {}
    for user in users:
        data = entra_user(user, manager_external_id)
        external_id = data["externalId"]
        if external_id not in batch and len(batch) == batch_size:
            yield _request(batch, fail_on_errors)
            batch = {}
        batch[external_id] = {
            "method": "POST",
            "bulkId": external_id,
            "path": "/Users",
            "data": data,
        }
    if batch:
        yield _request(batch, fail_on_errors)


def entra_user(
    user: Mapping[str, Any],
    manager_external_id: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """Return the ``data`` of one bulkUpload operation for a SCIM User document."""
    external_id = user.get("externalId")
    if not isinstance(external_id, str) or not external_id.strip():
        who = user.get("userName") or user.get("id") or "a user"
        raise InvalidValue(
            f"Entra matches people by externalId, and {who} has none: "
            "give them one (the school system's ID) before provisioning."
        )
    data = {key: value for key, value in user.items() if key not in _NOT_SENT}
    extensions = [urn for urn in user.get("schemas", []) if urn not in (CORE_USER, ENTERPRISE_USER)]
    data["schemas"] = [CORE_USER, ENTERPRISE_USER, *extensions]
    if "active" in data:
        data["active"] = _boolean(data["active"])
    enterprise = dict(data.get(ENTERPRISE_USER) or {})
    if "manager" in enterprise:
        manager = _manager(enterprise.pop("manager"), manager_external_id)
        if manager is not None:
            enterprise["manager"] = manager
    if enterprise or ENTERPRISE_USER in data:
        data[ENTERPRISE_USER] = enterprise
    return data


def _manager(
    manager: Any, manager_external_id: Callable[[str], str | None] | None
) -> dict[str, Any] | None:
    if not isinstance(manager, Mapping) or manager_external_id is None:
        return None
    value = manager.get("value")
    external_id = manager_external_id(value) if isinstance(value, str) else None
    if external_id is None:
        return None
    return {**manager, "value": external_id}


def _boolean(value: Any) -> Any:
    """Send a boolean as JSON true/false (a SCIM client may have stored "False")."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _request(batch: Mapping[str, dict[str, Any]], fail_on_errors: int | None) -> dict[str, Any]:
    return {
        "schemas": [BULK_REQUEST],
        "Operations": list(batch.values()),
        "failOnErrors": fail_on_errors,
    }
