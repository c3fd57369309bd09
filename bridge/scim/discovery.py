"""/ServiceProviderConfig, /Schemas, /ResourceTypes (RFC 7644 section 4, RFC 7643 section 5-7).

Everything published here is what the bridge really does: only attributes the directory
stores, with the mutability they really have.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from bridge.errors import NotFound
from bridge.scim.blueprint import blueprint, services
from bridge.scim.bulk import MAX_OPERATIONS, MAX_PAYLOAD
from bridge.scim.errors import scim_json
from bridge.scim.filters import CORE_GROUP, CORE_USER, ENTERPRISE_USER, MIMS_USER
from bridge.scim.listing import MAX_RESULTS, list_response
from bridge.scim.users import base_url

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


def _attr(
    name: str,
    kind: str = "string",
    *,
    description: str = "",
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: list[dict[str, Any]] | None = None,
    canonical: list[str] | None = None,
    refs: list[str] | None = None,
) -> dict[str, Any]:
    """Return an attribute definition (RFC 7643 section 7)."""
    attribute: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description or name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        attribute["subAttributes"] = sub
    if canonical:
        attribute["canonicalValues"] = canonical
    if refs:
        attribute["referenceTypes"] = refs
    return attribute


def _schema(
    urn: str, name: str, description: str, attributes: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"/Schemas/{urn}"},
    }


def _reference_list(name: str, target: str, description: str) -> dict[str, Any]:
    return _attr(
        name,
        "complex",
        description=description,
        multi=True,
        mutability="readOnly",
        sub=[
            _attr("value", description="The id", mutability="readOnly"),
            _attr("$ref", "reference", refs=[target], mutability="readOnly"),
            _attr("display", mutability="readOnly"),
        ],
    )


USER = _schema(
    CORE_USER,
    "User",
    "A MIMS account",
    [
        _attr(
            "userName",
            description="The login ID, such as ann_lee@students.edu.sg, made from the name "
            'when left out; with [scim] usernames = "client" any name the client chooses',
            required=True,
            uniqueness="server",
        ),
        _attr(
            "name",
            "complex",
            sub=[
                _attr("formatted", description="The full name the login ID is made from"),
                _attr("familyName"),
                _attr("givenName"),
                _attr("middleName"),
                _attr("honorificPrefix", description="Such as Dr"),
                _attr("honorificSuffix", description="Such as Jr"),
            ],
        ),
        _attr("displayName"),
        _attr("active", "boolean", description="false: disabled by an administrator"),
        _attr(
            "emails",
            "complex",
            multi=True,
            mutability="readOnly",
            description="The login ID as the one work address (read-only mirror of userName)",
            sub=[
                _attr("value", mutability="readOnly"),
                _attr("type", mutability="readOnly", canonical=["work"]),
                _attr("primary", "boolean", mutability="readOnly"),
            ],
        ),
        _attr(
            "password",
            mutability="writeOnly",
            returned="never",
            description="Hashed by the directory; never returned",
        ),
        _reference_list("groups", "Group", "Groups the person is in (schools, levels, classes)"),
    ],
)
ENTERPRISE = _schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise User extension (RFC 7643 section 4.3)",
    [
        _attr("employeeNumber"),
        _attr("department"),
        _attr("organization"),
        _attr(
            "manager",
            "complex",
            description="Another person, by id",
            sub=[_attr("value", description="The manager's id")],
        ),
    ],
)


def _mims(computed_returned: str) -> dict[str, Any]:
    return _schema(
        MIMS_USER,
        "MimsUser",
        "What a MIMS account carries beyond a User",
        [
            _attr("school"),
            _attr("level", description="Such as P4 or S2"),
            _attr("className", description="Such as 4A"),
            _attr(
                "role",
                mutability="readOnly",
                canonical=["student", "staff", "hq"],
                description="Decided by the login ID's domain",
                returned=computed_returned,
            ),
            _attr(
                "loginId",
                mutability="readOnly",
                description="The login ID, made from the name unless userName is one",
                returned=computed_returned,
            ),
            _attr(
                "locked",
                "boolean",
                description="Locked after failed sign-ins or by an administrator; false unlocks",
            ),
            _attr("answersSet", "boolean", mutability="readOnly", returned=computed_returned),
        ],
    )


GROUP = _schema(
    CORE_GROUP,
    "Group",
    "A school, level, class, or a group a client made",
    [
        _attr("displayName", required=True, uniqueness="server"),
        _attr(
            "members",
            "complex",
            multi=True,
            sub=[
                _attr("value", mutability="immutable"),
                _attr("$ref", "reference", refs=["User"], mutability="immutable"),
                _attr("type", mutability="immutable", canonical=["User"]),
            ],
        ),
    ],
)
# The computed MIMS attributes are returned only when asked for with usernames = "client".
SCHEMAS = {
    mode: [USER, ENTERPRISE, _mims(returned), GROUP]
    for mode, returned in (("login-id", "default"), ("client", "request"))
}


def _resource_type(name: str, endpoint: str, schema: str, extensions: list[str]) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "description": name,
        "schema": schema,
        "schemaExtensions": [{"schema": urn, "required": False} for urn in extensions],
        "meta": {"resourceType": "ResourceType", "location": f"/ResourceTypes/{name}"},
    }


RESOURCE_TYPES = [
    _resource_type("User", "/Users", CORE_USER, [ENTERPRISE_USER, MIMS_USER]),
    _resource_type("Group", "/Groups", CORE_GROUP, []),
]


def _located(document: dict[str, Any]) -> dict[str, Any]:
    meta = dict(document["meta"])
    meta["location"] = base_url() + meta["location"]
    return document | {"meta": meta}


@blueprint.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    """Say what the bridge supports (RFC 7643 section 5)."""
    return scim_json(
        {
            "schemas": [SPC_SCHEMA],
            "documentationUri": "https://github.com/mims-bridge/mims-bridge#scim",
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": MAX_OPERATIONS,
                "maxPayloadSize": MAX_PAYLOAD,
            },
            "filter": {"supported": True, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": True},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A token from `mims token create`, sent as "
                    "'Authorization: Bearer <token>'",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": base_url() + "/ServiceProviderConfig",
            },
        }
    )


def _schemas() -> list[dict[str, Any]]:
    return SCHEMAS[services().config.scim.usernames]


@blueprint.get("/Schemas")
def schemas() -> Response:
    """List the schemas (RFC 7644 section 4)."""
    items = [_located(schema) for schema in _schemas()]
    return scim_json(list_response(len(items), 1, items))


@blueprint.get("/Schemas/<urn>")
def schema(urn: str) -> Response:
    """Return one schema by its URN."""
    for item in _schemas():
        if item["id"] == urn:
            return scim_json(_located(item))
    raise NotFound(f"no schema {urn!r}")


@blueprint.get("/ResourceTypes")
def resource_types() -> Response:
    """List the resource types."""
    items = [_located(item) for item in RESOURCE_TYPES]
    return scim_json(list_response(len(items), 1, items))


@blueprint.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    """Return one resource type by name."""
    for item in RESOURCE_TYPES:
        if item["id"] == name:
            return scim_json(_located(item))
    raise NotFound(f"no resource type {name!r}")
