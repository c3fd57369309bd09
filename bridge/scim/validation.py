"""Incoming Users and Groups, validated by scim2-models in the context of their request.

A POST body is read as a creation request, a PUT body and the result of a PATCH as a
replacement request (RFC 7643 section 7): the library checks types, ignores read-only
attributes and finds attribute names without regard to case. Attributes the bridge does not
keep are ignored, as before, rather than refused. The library's errors become the bridge's
400 invalidValue in words of the SCIM attribute, never of pydantic.

Where the library refuses what the bridge accepts, the body is adjusted first; each case is
pinned by a test in tests/scim/test_scim2_models_gaps.py:

- a User without ``userName``: the bridge makes the login ID from the name (POST), or keeps
  the stored one (PUT), while the library requires the attribute;
- the Enterprise ``manager`` as a bare id, as Entra ID sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from scim2_models import Context, Mutability, ScimPolicy

from bridge.errors import InvalidValue
from bridge.scim.filters import ENTERPRISE_USER
from bridge.scim.mapping import canonical
from bridge.scim.models import Group, ScimUser

CREATION = Context.RESOURCE_CREATION_REQUEST
REPLACEMENT = Context.RESOURCE_REPLACEMENT_REQUEST
Model = TypeVar("Model", ScimUser, Group)

# Attributes the bridge does not keep are dropped, not refused (Entra and Okta send some).
_TOLERANT = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
# Stands in for a missing userName while the library validates (see the module docstring).
_NO_USER_NAME = "-"
# The User's readOnly attributes (id, meta, emails, groups) by their SCIM names: in a
# replacement the library checks their types, then drops them (RFC 7643 section 7).
_READ_ONLY = tuple(
    field.serialization_alias or name
    for name, field in ScimUser.model_fields.items()
    if ScimUser.get_field_annotation(name, Mutability) == Mutability.read_only
)

_WORDS = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "required_error": "is required",
    "missing": "is required",
}


def user(
    document: Mapping[str, Any], context: Context, stored: Mapping[str, Any] | None = None
) -> ScimUser:
    """Return a User body (canonical case or not) validated for ``context``.

    ``stored``: the resource as the bridge rendered it (canonical), which a PATCH started from.
    Its readOnly attributes that the body holds unchanged are not validated again: the bridge
    wrote them, and the library would drop them after checking (half its time on a PATCH).
    """
    doc = canonical(dict(document))
    if stored is not None:
        for name in _READ_ONLY:
            if name in doc and doc[name] == stored.get(name):
                del doc[name]
    enterprise = doc.get(ENTERPRISE_USER)
    if isinstance(enterprise, dict) and isinstance(enterprise.get("manager"), str):
        doc[ENTERPRISE_USER] = enterprise | {"manager": {"value": enterprise["manager"]}}
    unnamed = doc.get("userName") is None or doc.get("userName") == ""
    if unnamed:
        doc["userName"] = _NO_USER_NAME
    person = _validated(ScimUser, doc, context)
    if unnamed:
        person.user_name = None
    return person


def group(document: Mapping[str, Any], context: Context) -> Group:
    """Return a Group body validated for ``context``."""
    return _validated(Group, canonical(dict(document)), context)


def _validated(model: type[Model], doc: dict[str, Any], context: Context) -> Model:
    try:
        return model.model_validate(doc, scim_ctx=context, scim_policy=_TOLERANT)
    except ValidationError as error:
        raise _refusal(error) from None


def _refusal(error: ValidationError) -> InvalidValue:
    """Return the bridge error for the library's first complaint, named by SCIM attribute."""
    first = error.errors(include_url=False)[0]
    kind = str(first["type"])
    parts = [str(part) for part in first["loc"] if not isinstance(part, int)]
    where = ".".join(parts)
    if len(parts) > 1 and parts[0].lower().startswith("urn:"):
        where = f"{parts[0]}:{'.'.join(parts[1:])}"  # an extension's attribute, as SCIM names it
    if kind == "required_error":
        where = str((first.get("ctx") or {}).get("field_name", where))
    words = _WORDS.get(kind, "is not valid")
    return InvalidValue(f"{where!r} {words}" if where else f"the resource {words}")
