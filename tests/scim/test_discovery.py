"""Discovery endpoints say what the server really does."""

from __future__ import annotations

from tests.support.scim import ENTERPRISE, GROUP, MIMS, USER, Scim, is_error


def test_service_provider_config(scim: Scim) -> None:
    config = scim.get("/ServiceProviderConfig").json
    assert (
        config["patch"]["supported"] and config["sort"]["supported"] and config["etag"]["supported"]
    )
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_schemas_and_resource_types(scim: Scim) -> None:
    schemas = scim.get("/Schemas").json
    assert {s["id"] for s in schemas["Resources"]} == {USER, GROUP, ENTERPRISE, MIMS}
    user = scim.get(f"/Schemas/{USER}").json
    by_name = {a["name"]: a for a in user["attributes"]}
    assert (
        by_name["password"]["mutability"] == "writeOnly"
        and by_name["password"]["returned"] == "never"
    )
    assert by_name["groups"]["mutability"] == "readOnly"
    mims = {a["name"]: a for a in scim.get(f"/Schemas/{MIMS}").json["attributes"]}
    assert (
        mims["loginId"]["mutability"] == "readOnly" and mims["locked"]["mutability"] == "readWrite"
    )
    types = scim.get("/ResourceTypes").json
    assert {t["name"] for t in types["Resources"]} == {"User", "Group"}
    assert scim.get("/ResourceTypes/User").json["schemaExtensions"][0]["schema"] == ENTERPRISE
    assert is_error(scim.get("/Schemas/urn:nope"), 404)
    assert is_error(scim.get("/ResourceTypes/Nope"), 404)
