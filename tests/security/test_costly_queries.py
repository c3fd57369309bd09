"""Requests built to cost the server: huge filters, deep JSON, paging past any directory.

A 20,000-term filter took 7.5 s; deeply nested JSON and a startIndex of 2^31 were 500s that
named a driver class. Each is now a 400 that says which limit it passed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.cli import Served

FILTER_TERMS = 200  # bridge.scim.filters.MAX_FILTER_TERMS
FILTER_DEPTH = 10  # bridge.scim.filters.MAX_FILTER_DEPTH


def send(
    served: Served, method: str, path: str, body: bytes | None = None, scim: bool = True
) -> tuple[int, dict[str, object]]:
    """Send a request; return its status and JSON body."""
    headers = (
        {"Authorization": f"Bearer {served.token}", "Content-Type": "application/scim+json"}
        if scim
        else {"Content-Type": "application/json"}
    )
    request = urllib.request.Request(served.base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def search(served: Served, **fields: object) -> tuple[int, dict[str, object]]:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **fields}
    return send(served, "POST", "/scim/v2/Users/.search", json.dumps(body).encode())


def test_a_20000_term_filter_is_refused_naming_the_limit(served: Served) -> None:
    terms = " or ".join(f'id eq "{i}"' for i in range(20_000))
    status, body = search(served, filter=terms)
    assert status == 400
    assert body["scimType"] == "invalidFilter"
    assert "at most" in str(body["detail"])


def test_a_filter_just_over_the_term_limit_is_refused(served: Served) -> None:
    terms = " or ".join(f'externalId eq "{i}"' for i in range(FILTER_TERMS + 1))
    status, body = search(served, filter=terms)
    assert status == 400
    assert body["scimType"] == "invalidFilter"
    assert f"at most {FILTER_TERMS}" in str(body["detail"])


def test_a_filter_at_the_term_limit_is_answered(served: Served) -> None:
    terms = " or ".join(f'externalId eq "{i}"' for i in range(FILTER_TERMS))
    status, body = search(served, filter=terms)
    assert status == 200, body


def test_a_deeply_nested_filter_is_refused_naming_the_limit(served: Served) -> None:
    deep = "(" * (FILTER_DEPTH + 1) + "userName pr" + ")" * (FILTER_DEPTH + 1)
    status, body = search(served, filter=deep)
    assert status == 400
    assert body["scimType"] == "invalidFilter"
    assert f"at most {FILTER_DEPTH}" in str(body["detail"])


@pytest.mark.parametrize("path", ["/scim/v2/Users", "/scim/v2/Bulk", "/scim/v2/Users/.search"])
def test_deeply_nested_scim_json_is_a_400(served: Served, path: str) -> None:
    status, body = send(served, "POST", path, b"[" * 50_000 + b"]" * 50_000)
    assert status == 400
    assert body["scimType"] == "invalidSyntax"
    assert "nests deeper" in str(body["detail"])


def test_deeply_nested_portal_json_is_a_400(served: Served) -> None:
    status, body = send(served, "POST", "/sspr/api/login", b"[" * 4000 + b"]" * 4000, scim=False)
    assert status == 400
    assert body["error"] == "bad_request"


@pytest.mark.parametrize("start", ["2147483648", "9223372036854775808", "10000001"])
def test_a_huge_start_index_is_a_400(served: Served, start: str) -> None:
    status, body = send(served, "GET", f"/scim/v2/Users?startIndex={start}")
    assert status == 400
    assert body["scimType"] == "invalidValue"
    assert "startIndex must be at most" in str(body["detail"])


def test_an_infinite_start_index_in_a_search_is_a_400(served: Served) -> None:
    raw = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], '
    raw += b'"startIndex": 1e999}'  # Python's json reads it as inf
    status, body = send(served, "POST", "/scim/v2/Users/.search", raw)
    assert status == 400
    assert body["scimType"] == "invalidValue"


def test_a_huge_count_is_clamped_to_max_results(served: Served) -> None:
    status, body = send(served, "GET", "/scim/v2/Users?count=2147483648")
    assert status == 200
    assert body["itemsPerPage"] <= 1000
