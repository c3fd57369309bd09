"""/ServiceProviderConfig, /Schemas, /ResourceTypes (RFC 7644 section 4, RFC 7643 section 5-7).

Every document is a scim2-models object: the schemas are generated from the resource classes
in models.py, so what is published is what the bridge declares, with the mutability it
really has.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    External,
    Filter,
    Meta,
    Patch,
    Reference,
    Resource,
    ResourceType,
    Returned,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from bridge.errors import NotFound
from bridge.scim import models
from bridge.scim.blueprint import blueprint, context
from bridge.scim.bulk import MAX_OPERATIONS
from bridge.scim.errors import scim_json
from bridge.scim.listing import MAX_RESULTS, list_response
from bridge.scim.users import base_url

DOCUMENTATION = "https://github.com/mims-bridge/mims-bridge#scim"


def _schemas(client_names: bool) -> list[Schema]:
    """Return the schemas as the mode serves them.

    With usernames = "client" the computed MIMS attributes are ``returned: "request"`` (RFC
    7643 section 7), as mapping.without_request_only serves them.
    """
    mims = models.MimsUser.to_schema()
    if client_names:
        for attribute in mims.attributes or []:
            if attribute.name in models.COMPUTED:
                attribute.returned = Returned.request
    return [
        models.User.to_schema(),
        models.EnterpriseUser.to_schema(),
        mims,
        models.Group.to_schema(),
    ]


RESOURCE_TYPES = [
    ResourceType.from_resource(models.User[models.EnterpriseUser | models.MimsUser]),
    ResourceType.from_resource(models.Group),
]


def _document(resource: Resource[Any], kind: str, path: str) -> dict[str, Any]:
    """Dump a discovery resource with its meta (RFC 7644 section 4)."""
    resource.meta = Meta(resource_type=kind, location=base_url() + path)
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _schema_documents() -> list[dict[str, Any]]:
    client_names = context().config.scim.usernames == "client"
    return [
        _document(schema, "Schema", f"/Schemas/{schema.id}") for schema in _schemas(client_names)
    ]


def _resource_type_documents() -> list[dict[str, Any]]:
    return [
        _document(item.model_copy(), "ResourceType", f"/ResourceTypes/{item.id}")
        for item in RESOURCE_TYPES
    ]


@blueprint.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    """Say what the bridge supports (RFC 7643 section 5)."""
    max_payload = context().config.scim.max_payload_bytes
    config = ServiceProviderConfig(
        documentation_uri=Reference[External](DOCUMENTATION),
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=max_payload),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=True),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A token from `mims token create`, sent as "
                "'Authorization: Bearer <token>'",
                primary=True,
            )
        ],
    )
    return scim_json(_document(config, "ServiceProviderConfig", "/ServiceProviderConfig"))


@blueprint.get("/Schemas")
def schemas() -> Response:
    """List the schemas (RFC 7644 section 4)."""
    items = _schema_documents()
    return scim_json(list_response(len(items), 1, items))


@blueprint.get("/Schemas/<urn>")
def schema(urn: str) -> Response:
    """Return one schema by its URN."""
    for item in _schema_documents():
        if item["id"] == urn:
            return scim_json(item)
    raise NotFound(f"no schema {urn!r}")


@blueprint.get("/ResourceTypes")
def resource_types() -> Response:
    """List the resource types."""
    items = _resource_type_documents()
    return scim_json(list_response(len(items), 1, items))


@blueprint.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    """Return one resource type by name."""
    for item in _resource_type_documents():
        if item["id"] == name:
            return scim_json(item)
    raise NotFound(f"no resource type {name!r}")
