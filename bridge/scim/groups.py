"""/Groups: client-made groups and the managed school, level and class groups.

Members are people (``type: User``). PATCH turns member operations into LDAP add/delete
deltas, so concurrent PATCHes of one group from several processes all land.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from bridge.core.people import Group
from bridge.errors import InvalidValue
from bridge.scim import patch, validation
from bridge.scim.blueprint import ScimContext, blueprint, body, context
from bridge.scim.errors import InvalidPath, scim_json
from bridge.scim.filters import InvalidFilter, parse_filter
from bridge.scim.listing import ListQuery, list_response, read_query
from bridge.scim.mapping import (
    canonical,
    etag,
    from_scim_group,
    member_ids,
    text,
    to_scim_group,
    version_of,
)
from bridge.scim.users import base_url


def _one(group: Group, status: int = 200) -> Response:
    attributes, excluded = request.args.get("attributes"), request.args.get("excludedAttributes")
    members = patch.wants_members(attributes, excluded)
    whole = to_scim_group(group, base_url(), members)
    document = patch.project(whole, attributes, excluded)
    headers = {"ETag": etag(group.version) or ""}
    if status == 201:  # from the whole document: attributes= may have left meta out
        headers["Location"] = whole["meta"]["location"]
    return scim_json(document, status, headers)


def _read_back(found: ScimContext, group_id: str) -> Group:
    attributes, excluded = request.args.get("attributes"), request.args.get("excludedAttributes")
    return found.groups.get(group_id, members=patch.wants_members(attributes, excluded))


@blueprint.post("/Groups")
def create_group() -> Response:
    """Create a group, empty or with members."""
    found = context()
    wanted = from_scim_group(validation.group(body(), validation.CREATION))
    group = found.groups.create(wanted.name, wanted.external_id, wanted.member_ids)
    return _one(_read_back(found, group.id), 201)


@blueprint.get("/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    """Return one group; members are not read when excludedAttributes=members."""
    group = _read_back(context(), group_id)
    if group.version and version_of(request.headers.get("If-None-Match")) == group.version:
        return Response(status=304, headers={"ETag": etag(group.version) or ""})
    return _one(group)


@blueprint.get("/Groups")
def list_groups() -> Response:
    """List groups matching a filter, sorted and paged by the directory."""
    return search_groups(read_query(request.args))


def search_groups(query: ListQuery) -> Response:
    """Answer a list or .search request on Groups."""
    found = context()
    parsed = parse_filter(query.filter or "id pr", "Group")
    members = patch.wants_members(query.attributes, query.excluded)
    total, groups = found.groups.search(
        parsed, query.sort("Group"), query.start, query.count, members
    )
    resources = [
        patch.project(to_scim_group(group, base_url(), members), query.attributes, query.excluded)
        for group in groups
    ]
    return scim_json(list_response(total, query.start, resources))


@blueprint.put("/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    """Replace a group's name, externalId and members."""
    found = context()
    wanted = from_scim_group(validation.group(body(), validation.REPLACEMENT))
    found.groups.change(
        group_id,
        name=wanted.name,
        external_id=wanted.external_id,
        replace=wanted.member_ids,
        version=version_of(request.headers.get("If-Match")),
    )
    return _one(_read_back(found, group_id))


@blueprint.patch("/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    """Apply PATCH operations: member adds and removes become directory deltas."""
    found = context()
    changes = _group_changes(patch.operations(body()))
    found.groups.change(
        group_id,
        name=changes.get("name"),
        external_id=changes.get("external_id", False),
        add=changes.get("add", []),
        remove=changes.get("remove", []),
        replace=changes.get("replace"),
        version=version_of(request.headers.get("If-Match")),
    )
    return _one(_read_back(found, group_id))


def _group_changes(operations: list[patch.Operation]) -> dict[str, Any]:
    """Fold PATCH operations on a group into name, externalId and member changes."""
    out: dict[str, Any] = {"add": [], "remove": []}
    for operation in operations:
        path = operation.path
        if path is None:
            value = canonical(operation.value)
            if not isinstance(value, dict):
                raise InvalidValue("an operation without a 'path' needs an object as its 'value'")
            for key, item in value.items():
                _one_change(out, operation.op, key, None, item)
            continue
        if isinstance(path, patch.ValuePath):
            if path.attr_path.attr.lower() != "members" or path.sub_attr is not None:
                raise InvalidPath(f"cannot patch {operation.raw_path!r} on a group")
            if operation.op != "remove":
                raise InvalidPath("members[...] can only be removed; add members by value")
            out["remove"] += _selected_ids(path)
            continue
        name = path.attr if path.sub_attr is None else f"{path.attr}.{path.sub_attr}"
        _one_change(out, operation.op, name, path, operation.value)
    return out


def _one_change(out: dict[str, Any], op: str, name: str, path: Any, value: Any) -> None:
    lowered = name.lower()
    if lowered == "members":
        ids = member_ids(value) if value is not None else []
        if op == "add":
            out["add"] += ids
        elif op == "remove" and value is not None:
            out["remove"] += ids  # Entra: remove with a value array
        else:  # replace, or remove all
            out["replace"] = ids
            out["add"], out["remove"] = [], []
    elif lowered == "displayname":
        if op == "remove":
            raise InvalidValue("a group needs a displayName")
        out["name"] = text(value, "displayName")
    elif lowered == "externalid":
        out["external_id"] = None if op == "remove" else text(value, "externalId")
    elif lowered in ("id", "meta", "schemas"):
        return  # read-only; Okta repeats the group's own id in a rename (RFC 7643 2.2: ignored)
    else:
        raise InvalidPath(f"a group has no attribute {name!r}")


def _selected_ids(path: patch.ValuePath) -> list[str]:
    """Return the ids a ``members[value eq "..."]`` selection names (``or`` allowed)."""
    node = path.val_filter
    terms = node.terms if isinstance(node, patch.LogicalExpr) else [node]
    ids = []
    for term in terms:
        if (
            not isinstance(term, patch.Comparison)
            or term.attr_path.attr.lower() != "value"
            or term.op.value != "eq"
            or not isinstance(term.value, str)
        ):
            raise InvalidPath('select members by value only: members[value eq "<id>"]')
        ids.append(term.value)
    return ids


@blueprint.delete("/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    """Remove a client-made group."""
    context().groups.delete(group_id, version_of(request.headers.get("If-Match")))
    return Response(status=204)


@blueprint.post("/Groups/.search")
def search_groups_by_post() -> Response:
    """Search groups with a SearchRequest body (RFC 7644 section 3.4.3)."""
    return search_groups(read_query(body()))


@blueprint.post("/.search")
def search_everything() -> Response:
    """Search from the root: Users first, then Groups, paged as one list."""
    from bridge.scim.users import search_users

    query = read_query(body())
    users = search_users(query).get_json(force=True)
    start = max(query.start - users["totalResults"], 1)
    room = max(query.count - users["itemsPerPage"], 0)
    try:
        groups = search_groups(
            ListQuery(query.filter, start, room, None, False, query.attributes, query.excluded)
        ).get_json(force=True)
    except InvalidFilter:  # an attribute Groups do not have: no group matches
        groups = {"totalResults": 0, "Resources": []}
    resources = users["Resources"] + (groups["Resources"] if room else [])
    total = users["totalResults"] + groups["totalResults"]
    return scim_json(list_response(total, query.start, resources))
