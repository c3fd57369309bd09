"""Bodies too large for their route are refused before they are read, whatever their framing.

An unauthenticated 1 GB POST to /sspr/api/login grew a worker to 3.1 GB, and SCIM took
100 MB. Each attack here sends 200 MB, chunked or with a Content-Length, and checks the 413,
its error body, and that no worker grew by 20 MB.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.attacks import send_body, worker_rss
from tests.support.cli import Served

ATTACK = 200 * 1024 * 1024
GROWTH = 20 * 1024 * 1024
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_headers(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}", "Content-Type": "application/scim+json"}


def get_json(served: Served, path: str) -> dict[str, object]:
    request = urllib.request.Request(
        served.base + path, headers={"Authorization": f"Bearer {served.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        found: dict[str, object] = json.load(response)
    return found


def test_scim_publishes_the_configured_payload_limit(served: Served, scim_limit: int) -> None:
    bulk = get_json(served, "/scim/v2/ServiceProviderConfig")["bulk"]
    assert isinstance(bulk, dict)
    assert bulk["maxPayloadSize"] == scim_limit


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_huge_portal_body_is_refused_unread(served: Served, chunked: bool) -> None:
    before = worker_rss(served.pid)
    answer, sent = send_body(
        served.base,
        "/sspr/api/login",
        {"Content-Type": "application/json"},
        total=ATTACK,
        chunked=chunked,
    )
    after = worker_rss(served.pid)
    assert answer.status == 413, (answer, sent)
    body = answer.json()
    assert isinstance(body, dict)
    assert body["error"] == "too_large"
    assert "8192 bytes" in body["detail"]
    assert sent < ATTACK  # the server stopped the upload
    assert max(after[pid] - before.get(pid, after[pid]) for pid in after) < GROWTH


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_huge_scim_body_is_refused_unread(served: Served, scim_limit: int, chunked: bool) -> None:
    before = worker_rss(served.pid)
    answer, sent = send_body(
        served.base, "/scim/v2/Users", scim_headers(served), total=ATTACK, chunked=chunked
    )
    after = worker_rss(served.pid)
    assert answer.status == 413, (answer, sent)
    body = answer.json()
    assert isinstance(body, dict)
    assert body["schemas"] == [SCIM_ERROR]
    assert body["status"] == "413"
    assert f"{scim_limit} bytes" in body["detail"]
    assert sent < ATTACK
    assert max(after[pid] - before.get(pid, after[pid]) for pid in after) < GROWTH


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_scim_body_just_over_the_published_limit_is_refused(
    served: Served, scim_limit: int, chunked: bool
) -> None:
    answer, _ = send_body(
        served.base, "/scim/v2/Bulk", scim_headers(served), total=scim_limit + 1, chunked=chunked
    )
    assert answer.status == 413
    body = answer.json()
    assert isinstance(body, dict)
    assert body["schemas"] == [SCIM_ERROR]


def test_a_bulk_operation_cannot_be_another_bulk_request(served: Served) -> None:
    """Nested Bulk requests would multiply maxOperations: each runs as a refused operation."""
    inner = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": "/Users/nobody"}],
    }
    outer = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Bulk", "bulkId": "b", "data": inner}],
    }
    request = urllib.request.Request(
        served.base + "/scim/v2/Bulk",
        data=json.dumps(outer).encode(),
        method="POST",
        headers=scim_headers(served),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        (operation,) = json.load(response)["Operations"]
    assert operation["status"] == "400"
    assert "another bulk request" in operation["response"]["detail"]
