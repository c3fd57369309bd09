"""Requests schemathesis made (tests/api/test_fuzz.py) that once answered 500: each is a 400 now."""

from __future__ import annotations

import pytest

from tests.support.scim import GROUP, USER, Scim, is_error, new_user

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
@pytest.mark.parametrize(
    "field", [{"sortBy": [None, None]}, {"filter": ["id pr"]}, {"sortOrder": {"x": 1}}]
)
def test_a_search_request_with_a_non_string_parameter_is_refused(
    scim: Scim, path: str, field: dict[str, object]
) -> None:
    response = scim.post(path, {"schemas": [SEARCH]} | field)
    assert is_error(response, 400, "invalidValue"), response.json
    assert next(iter(field)) in response.json["detail"]


@pytest.mark.parametrize("version", ['W/"1"\nX-Injected: yes', 7, 'W/"\u00e9"'])
def test_a_bulk_operation_whose_version_is_no_etag_is_refused_alone(
    scim: Scim, version: object
) -> None:
    operations = [
        {"method": "DELETE", "path": "/Users/nobody", "version": version},
        {"method": "DELETE", "path": "/Users/nobody"},
    ]
    response = scim.post("/Bulk", {"schemas": [BULK], "Operations": operations})
    assert response.status_code == 200
    refused, next_one = response.json["Operations"]
    assert refused["status"] == "400" and "ETag" in refused["response"]["detail"]
    assert next_one["status"] == "404"  # the request went on


@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("/Users", {"schemas": [USER], "name": {"formatted": "Ann Lee"}}),
        ("/Groups", {"schemas": [GROUP], "displayName": "Band"}),
    ],
)
@pytest.mark.parametrize("query", ["attributes=displayName", "excludedAttributes=meta"])
def test_a_create_whose_answer_leaves_meta_out_still_says_where_it_is(
    scim: Scim, path: str, document: dict[str, object], query: str
) -> None:
    response = scim.post(f"{path}?{query}", document)
    assert response.status_code == 201, response.json
    assert "meta" not in response.json
    made = response.headers["Location"]
    assert made.endswith(f"{path}/{response.json['id']}")
    assert scim.get(made.split("/scim/v2", 1)[1]).status_code == 200


@pytest.mark.parametrize("emails", [[[[]], {"value": ["x"]}, [1, True]], [{"value": {}}]])
def test_a_replace_with_read_only_values_of_any_shape_is_a_mutability_error(
    scim: Scim, emails: object
) -> None:
    made = new_user(scim)
    response = scim.put(f"/Users/{made['id']}", {"schemas": [USER], "emails": emails})
    assert is_error(response, 400, "mutability"), response.json


@pytest.mark.parametrize("schemas", [True, "x", {"a": 1}, 5])
def test_a_patch_whose_schemas_is_no_list_is_refused(scim: Scim, schemas: object) -> None:
    made = new_user(scim)
    body = {"schemas": schemas, "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert is_error(scim.patch(f"/Users/{made['id']}", body), 400, "invalidSyntax")
