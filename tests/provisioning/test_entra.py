"""Entra ID bulkUpload bodies, checked against Microsoft's documented requests.

Microsoft Entra cannot be reached from here: the shape is what Microsoft documents, on
https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-post-bulkupload
(examples 1 and 3) and
https://learn.microsoft.com/graph/api/resources/synchronization-bulkupload (required keys).
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.errors import InvalidValue
from bridge.provisioning.entra import bulk_requests

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"


def documented_user(**values: Any) -> dict[str, Any]:
    """Return one user of Microsoft's example 1: the attributes both users share, then theirs."""
    enterprise = {
        "employeeNumber": "701984",  # both users carry 701984 in Microsoft's example
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": values.pop("manager"),
    }
    address = {"type": "work", "locality": "Hollywood", "region": "CA", "country": "USA"}
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": values["externalId"],
        "userName": values["userName"],
        "name": {
            "formatted": f"Ms. {values['givenName']} J Jensen, III",
            "familyName": "Jensen",
            "givenName": values["givenName"],
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III",
        },
        "displayName": values["displayName"],
        "nickName": values["nickName"],
        "emails": [{"value": values["userName"].lower(), "type": "work", "primary": True}],
        "addresses": [address | values["address"] | {"primary": True}],
        "phoneNumbers": [{"value": values["phone"], "type": "work"}],
        "userType": "Employee",
        "title": values["title"],
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": True,
        ENTERPRISE: enterprise,
    }


# Example 1 of https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-post-bulkupload
# ("Bulk upload using SCIM Core user and Enterprise User schema"): the request body's structure.
BARBARA = documented_user(
    externalId="701984",
    userName="bjensen@example.com",
    givenName="Barbara",
    displayName="Babs Jensen",
    nickName="Babs",
    address={
        "streetAddress": "234300 Universal City Plaza",
        "postalCode": "91608",
        "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
    },
    phone="555-555-5555",
    title="Tour Guide",
    manager={"value": "89607", "displayName": "John Smith"},
)
KATHY = documented_user(
    externalId="701985",
    userName="Kjensen@example.com",
    givenName="Kathy",
    displayName="Kathy Jensen",
    nickName="Kathy",
    address={
        "streetAddress": "100 Oracle City Plaza",
        "postalCode": "91618",
        "formatted": "100 Oracle City Plaza\nHollywood, CA 91618 USA",
    },
    phone="555-555-5545",
    title="Tour Lead",
    manager={"value": "701984", "displayName": "Barbara Jensen"},
)
EXAMPLE_1 = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "Operations": [
        {"method": "POST", "bulkId": "701984", "path": "/Users", "data": BARBARA},
        {"method": "POST", "bulkId": "701985", "path": "/Users", "data": KATHY},
    ],
    "failOnErrors": None,
}

# Example 3 of the same page ("Bulk upload for updating an existing user"): a deactivation.
EXAMPLE_3 = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "Operations": [
        {
            "method": "POST",
            "bulkId": "7172023",
            "path": "/Users",
            "data": {
                "schemas": [CORE, ENTERPRISE],
                "externalId": "7172023",
                "active": False,
                ENTERPRISE: {"department": "Tour Ops"},
            },
        }
    ],
    "failOnErrors": None,
}

# The bridge's ids (entryUUIDs) of the managers, and their externalIds, which Entra resolves.
MANAGERS = {"e0f1-john-smith": "89607", "a1b2-barbara-jensen": "701984"}


def as_the_bridge_serves_it(data: dict[str, Any], manager_id: str | None) -> dict[str, Any]:
    """Return a documented user as our SCIM server shows it: ids, meta, groups, our manager id."""
    user = {**data, "id": f"uuid-{data['externalId']}", "groups": [{"value": "g1"}]}
    user["meta"] = {"resourceType": "User", "location": f"/scim/v2/Users/{user['id']}"}
    user["password"] = "never sent"
    if manager_id is not None:
        manager = {**data[ENTERPRISE]["manager"], "value": manager_id}
        user[ENTERPRISE] = {**data[ENTERPRISE], "manager": manager}
    return user


def person(number: int, **extra: Any) -> dict[str, Any]:
    user = {
        "schemas": [CORE, ENTERPRISE, MIMS],
        "id": f"uuid-{number}",
        "externalId": f"T{number:07d}A",
        "userName": f"pupil_{number}@students.edu.sg",
        "active": True,
        MIMS: {"school": "Clementi Primary School", "level": "P4"},
    }
    return user | extra


def test_two_people_make_microsofts_example_1() -> None:
    users = [
        as_the_bridge_serves_it(BARBARA, "e0f1-john-smith"),
        as_the_bridge_serves_it(KATHY, "a1b2-barbara-jensen"),
    ]
    [request] = bulk_requests(users, manager_external_id=MANAGERS.get)
    assert request == EXAMPLE_1


def test_a_deactivation_makes_microsofts_example_3() -> None:
    deactivated = {
        "schemas": [CORE, ENTERPRISE],
        "id": "uuid-7172023",
        "externalId": "7172023",
        "active": "False",  # as Entra-style SCIM clients send booleans: still JSON false
        ENTERPRISE: {"department": "Tour Ops"},
        "meta": {"resourceType": "User"},
    }
    assert list(bulk_requests([deactivated])) == [EXAMPLE_3]


def test_120_people_go_in_requests_of_50_50_and_20_with_unique_bulk_ids() -> None:
    requests = list(bulk_requests(person(n) for n in range(120)))
    assert [len(r["Operations"]) for r in requests] == [50, 50, 20]
    bulk_ids = [op["bulkId"] for r in requests for op in r["Operations"]]
    assert len(set(bulk_ids)) == 120
    assert bulk_ids[0] == "T0000000A"
    for request in requests:
        assert request["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]
        assert request["failOnErrors"] is None
        for operation in request["Operations"]:
            assert operation["method"] == "POST" and operation["path"] == "/Users"
            assert operation["bulkId"] == operation["data"]["externalId"]
            assert operation["data"]["schemas"][:2] == [CORE, ENTERPRISE]


def test_a_smaller_batch_and_failOnErrors_can_be_chosen() -> None:
    requests = list(bulk_requests((person(n) for n in range(7)), batch_size=3, fail_on_errors=5))
    assert [len(r["Operations"]) for r in requests] == [3, 3, 1]
    assert {r["failOnErrors"] for r in requests} == {5}


@pytest.mark.parametrize("size", [51, 100, 0, -1])
def test_more_than_50_operations_per_request_is_refused(size: int) -> None:
    with pytest.raises(InvalidValue, match="1 to 50 operations"):
        list(bulk_requests([person(1)], batch_size=size))


@pytest.mark.parametrize("external_id", [None, "", "   "])
def test_a_person_without_an_external_id_is_refused_by_name(external_id: str | None) -> None:
    nobody = person(2, externalId=external_id)
    with pytest.raises(InvalidValue) as refused:
        list(bulk_requests([person(1), nobody]))
    assert str(refused.value) == (
        "Entra matches people by externalId, and pupil_2@students.edu.sg has none: "
        "give them one (the school system's ID) before provisioning."
    )


def test_the_same_person_twice_in_one_request_is_sent_once_with_the_newer_state() -> None:
    moved = person(1, active=False)
    [request] = bulk_requests([person(1), person(2), moved])
    assert [op["bulkId"] for op in request["Operations"]] == ["T0000001A", "T0000002A"]
    assert request["Operations"][0]["data"]["active"] is False


def test_what_is_sent_and_what_is_not() -> None:
    user = person(3, password="Secret123!", groups=[{"value": "g"}], meta={"version": 'W/"1"'})
    user[ENTERPRISE] = {"department": "Science", "manager": {"value": "uuid-unknown"}}
    [request] = bulk_requests([user])
    data = request["Operations"][0]["data"]
    assert set(data) == {"schemas", "externalId", "userName", "active", ENTERPRISE, MIMS}
    assert data["schemas"] == [CORE, ENTERPRISE, MIMS]  # a custom namespace Entra can map
    assert data[ENTERPRISE] == {"department": "Science"}  # no externalId known: no manager
    assert data[MIMS] == {"school": "Clementi Primary School", "level": "P4"}

    without_extension = person(4)
    without_extension["schemas"] = [CORE]
    [request] = bulk_requests([without_extension])
    assert request["Operations"][0]["data"]["schemas"][:2] == [CORE, ENTERPRISE]
