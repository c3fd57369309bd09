"""/Bulk with bulkId references, failOnErrors and the published limits."""

from __future__ import annotations

from bridge.scim.bulk import MAX_OPERATIONS
from tests.support.scim import GROUP, USER, Scim, is_error

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_bulk_creates_a_user_and_a_group_that_references_it(scim: Scim) -> None:
    request = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {"schemas": [USER], "name": {"formatted": "Ann Lee"}},
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Band",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Ann"}],
                },
            },
        ],
    }
    response = scim.post("/Bulk", request)
    assert response.status_code == 200, response.json
    results = response.json["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "200"]
    user_id = results[0]["location"].rsplit("/", 1)[1]
    group = scim.get(results[1]["location"].split("/scim/v2")[1]).json
    assert [m["value"] for m in group["members"]] == [user_id]
    assert scim.get(f"/Users/{user_id}").json["displayName"] == "Ann"


def test_fail_on_errors_stops_and_errors_are_reported_per_operation(scim: Scim) -> None:
    bad = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "x",
        "data": {"schemas": [USER], "userName": "nope"},
    }
    good = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "y",
        "data": {"schemas": [USER], "name": {"formatted": "Ben Koh"}},
    }
    response = scim.post("/Bulk", {"schemas": [BULK], "failOnErrors": 1, "Operations": [bad, good]})
    results = response.json["Operations"]
    assert len(results) == 1 and results[0]["status"] == "400"
    assert results[0]["response"]["scimType"] == "invalidValue"
    unknown = {"method": "DELETE", "path": "/Users/bulkId:missing"}
    results = scim.post("/Bulk", {"schemas": [BULK], "Operations": [unknown, good]}).json[
        "Operations"
    ]
    assert [r["status"] for r in results] == ["409", "201"]


def test_bulk_over_the_limits_is_413(scim: Scim) -> None:
    operation = {"method": "DELETE", "path": "/Users/x"}
    too_many = {"schemas": [BULK], "Operations": [operation] * (MAX_OPERATIONS + 1)}
    assert is_error(scim.post("/Bulk", too_many), 413)
    huge = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": {"displayName": "x" * 1_100_000},
            }
        ],
    }
    assert is_error(scim.post("/Bulk", huge), 413)
