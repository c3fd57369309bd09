"""/Users: create, read, list, replace, patch and delete people (RFC 7644 section 3)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import Response, request

from bridge.core.people import NewPerson, Person, PersonChange, Role, change_between
from bridge.errors import AlreadyExists, PreconditionFailed
from bridge.scim import patch, read_only, usernames, validation
from bridge.scim.blueprint import ScimContext, blueprint, body, context
from bridge.scim.errors import json_bytes, scim_encoded, scim_json
from bridge.scim.filters import parse_filter
from bridge.scim.listing import ListQuery, list_body, read_query
from bridge.scim.mapping import (
    UserInput,
    canonical,
    etag,
    from_scim_user,
    present,
    requested_role,
    to_scim_user,
    version_of,
    without_request_only,
)


def base_url() -> str:
    """Return the SCIM base URL the client used (for meta.location and $ref)."""
    return request.host_url.rstrip("/") + blueprint.url_prefix  # type: ignore[operator]


def render(found: ScimContext, people: list[Person], groups: bool = True) -> list[dict[str, Any]]:
    """Return people as SCIM Users, with their groups' ids.

    The directory resolves them with each read (deref); without that (an external directory
    without the overlay) they are looked up in one search. ``groups`` False leaves groups out
    and saves that search, for responses that drop them.
    """
    return list(rendered(found, list(people), groups))


def rendered(
    found: ScimContext, people: list[Person], groups: bool = True
) -> Iterator[dict[str, Any]]:
    """Yield people as SCIM Users one by one (``render``), taking each off ``people``.

    A page of 1,000 is then encoded as it is rendered, and never held as people and as text.
    """
    unresolved = [person for person in people if person.group_ids is None] if groups else []
    looked_up = found.groups.ids_of(group for person in unresolved for group in person.groups)
    base = base_url()
    client = _client_names(found)
    people.reverse()
    while people:
        person = people.pop()
        yield to_scim_user(person, base, person.group_ids or looked_up, client)


def _client_names(found: ScimContext) -> bool:
    """Return whether userName is the client's own name (``[scim] usernames = "client"``)."""
    return found.config.scim.usernames == "client"


def _user_name(found: ScimContext, text: str | None) -> usernames.UserName:
    return usernames.read(text, _client_names(found), found.config.naming.domains.values())


def _returned(
    found: ScimContext, document: dict[str, Any], attributes: str | None
) -> dict[str, Any]:
    """Apply ``returned: "request"`` to the computed MIMS attributes in "client" mode."""
    return without_request_only(document, attributes) if _client_names(found) else document


def _one(found: ScimContext, person: Person, status: int = 200) -> Response:
    attributes = request.args.get("attributes")
    excluded = request.args.get("excludedAttributes")
    rendered = render(found, [person], patch.returns("groups", attributes, excluded))
    document = _returned(found, patch.project(rendered[0], attributes, excluded), attributes)
    headers = {"ETag": etag(person.version) or ""}
    if status == 201:  # from the whole document: attributes= may have left meta out
        headers["Location"] = rendered[0]["meta"]["location"]
    return scim_json(document, status, headers)


@blueprint.post("/Users")
def create_user() -> Response:
    """Create a person; without userName the login ID is made from the name (RFC 7644 3.3)."""
    found = context()
    document = canonical(body())
    wanted = from_scim_user(
        validation.user(document, validation.CREATION), requested_role(document)
    )
    named = _user_name(found, wanted.login_id)
    login = named.login_id
    role: Role = found.people.role_for(login, wanted.role) if login else wanted.role or "student"
    password = wanted.password  # checked against the person's policy by the directory layer
    values = replace(wanted.values, user_name=named.client_name)
    new = NewPerson.from_change(values, role, login_id=login, password=password)
    try:
        person = found.people.create(new)
    except AlreadyExists as error:
        taken = named.client_name or login
        raise AlreadyExists(f"{taken} is already taken" if taken else str(error)) from None
    if wanted.locked:
        person = found.people.update(person.id, PersonChange(), locked=True)
    return _one(found, person, 201)


@blueprint.get("/Users/<user_id>")
def get_user(user_id: str) -> Response:
    """Return one person; 304 when If-None-Match names the current version."""
    found = context()
    person = found.people.get(user_id)
    if person.version and version_of(request.headers.get("If-None-Match")) == person.version:
        return Response(status=304, headers={"ETag": etag(person.version) or ""})
    return _one(found, person)


@blueprint.get("/Users")
def list_users() -> Response:
    """List people matching a filter, sorted and paged by the directory (RFC 7644 3.4.2)."""
    return search_users(read_query(request.args))


def search_users(query: ListQuery) -> Response:
    """Answer a list or .search request on Users."""
    found = context()
    client_names = _client_names(found)
    parsed = parse_filter(query.filter or "id pr", "User", client_names=client_names)
    sort = query.sort("User", client_names=client_names)
    total, people = found.people.search(parsed, sort, query.start, query.count)
    groups = patch.returns("groups", query.attributes, query.excluded)
    resources = [
        json_bytes(
            _returned(
                found, patch.project(item, query.attributes, query.excluded), query.attributes
            )
        )
        for item in rendered(found, people, groups)
    ]
    return scim_encoded(list_body(total, query.start, resources))


@blueprint.put("/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    """Replace a person's writable attributes (RFC 7644 section 3.5.1)."""
    found = context()
    before = found.people.get(user_id)
    wanted = canonical(body())
    read_only.check(canonical(render(found, [before])[0]), wanted, partial=True)
    removed = before.client_removed - present(wanted)
    valid = validation.user(wanted, validation.REPLACEMENT)
    return _one(found, _write(found, before, from_scim_user(valid), removed))


@blueprint.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    """Apply PATCH operations to a person (RFC 7644 section 3.5.2)."""
    found = context()
    operations = patch.operations(body())
    before = found.people.get(user_id)
    current = canonical(render(found, [before])[0])
    wanted = patch.apply(current, operations)
    read_only.check(current, wanted, partial=False)
    # What the operations removed is remembered; what they set again is shown again.
    removed = (before.client_removed | present(current)) - present(wanted)
    valid = validation.user(wanted, validation.REPLACEMENT, stored=current)
    return _one(found, _write(found, before, from_scim_user(valid), removed))


def _write(
    found: ScimContext, before: Person, wanted: UserInput, removed: frozenset[str]
) -> Person:
    """Write what differs between a person and the wanted state, honouring If-Match.

    ``removed``: the attributes the client has removed (``Person.client_removed``); removing
    ``locked`` unlocks the account.
    """
    version = version_of(request.headers.get("If-Match"))
    if version is not None and version != before.version:
        raise PreconditionFailed("the resource has changed since the version you sent")
    person = before
    named = _user_name(found, wanted.login_id)
    if named.login_id is not None and named.login_id != before.login_id:
        person = found.people.rename_login(before.id, named.login_id)
        version = None  # checked above; the rename made a new one
    values = replace(wanted.values, client_removed=removed)
    locked = False if "locked" in removed - before.client_removed else wanted.locked
    if _client_names(found) and wanted.login_id:
        values = replace(values, user_name=named.client_name)  # without userName keep the old one
    changes = change_between(person, values)
    password = wanted.password
    if not changes.changed() and password is None and locked in (None, person.lock.locked):
        return person
    return found.people.update(
        person.id, changes, version=version, password=password, locked=locked, before=person
    )


@blueprint.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    """Remove a person and their group memberships (RFC 7644 section 3.6)."""
    context().people.delete(user_id, version_of(request.headers.get("If-Match")))
    return Response(status=204)


@blueprint.post("/Users/.search")
def search_users_by_post() -> Response:
    """Search people with a SearchRequest body (RFC 7644 section 3.4.3)."""
    return search_users(read_query(body()))
