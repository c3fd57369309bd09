"""PATCH (RFC 7644 section 3.5.2) applied to a SCIM document, and attribute projection.

Paths are parsed by scim2-models' ``Path`` grammar. Op names are read without regard to case
(Entra ID sends ``Replace`` and ``Add``). A User is patched as a document: the bridge renders
the person, applies the operations, reads the result back and writes only what changed.
Groups are patched as member deltas instead (see groups.py), so concurrent PATCHes of one
group never undo each other.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scim2_models import Path
from scim2_models.exceptions import InvalidPathException
from scim2_models.path import AttrPath, Comparison, LogicalExpr, LogicalOperator, Not, Present
from scim2_models.path.expressions import FilterNode, ValuePath

__all__ = [
    "Comparison",
    "LogicalExpr",
    "Operation",
    "ValuePath",
    "apply",
    "matches",
    "operations",
    "project",
    "wants_members",
]

from bridge.errors import InvalidValue
from bridge.scim.errors import BadRequest, InvalidPath, NoTarget
from bridge.scim.mapping import CANONICAL, EXTENSIONS, canonical, split_urn
from bridge.scim.read_only import READ_ONLY

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OPS = ("add", "replace", "remove")


@dataclass(frozen=True)
class Operation:
    """One PATCH operation: its op in lower case, its parsed path (or None), its value."""

    op: str
    path: AttrPath | ValuePath | None
    value: Any
    raw_path: str | None


def operations(body: dict[str, Any]) -> list[Operation]:
    """Read the Operations of a PatchOp body, refusing malformed ones (400)."""
    doc = {key.lower(): value for key, value in body.items()}
    schemas = doc.get("schemas")
    if not isinstance(schemas, list) or PATCH_SCHEMA not in schemas:
        raise BadRequest(f"a PATCH body needs schemas [{PATCH_SCHEMA!r}]")
    items = doc.get("operations")
    if not isinstance(items, list) or not items:
        raise BadRequest("a PATCH body needs a non-empty 'Operations' list")
    result = []
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("each operation must be an object")
        fields = {key.lower(): value for key, value in item.items()}
        op = str(fields.get("op", "")).lower()
        if op not in OPS:
            raise BadRequest(f"'op' must be add, replace or remove (got {fields.get('op')!r})")
        raw = fields.get("path")
        path = parse_path(raw) if raw else None
        if op == "remove" and path is None:
            raise NoTarget("a 'remove' operation needs a 'path'")
        if op != "remove" and "value" not in fields:
            raise BadRequest(f"an {op!r} operation needs a 'value'")
        result.append(Operation(op, path, fields.get("value"), raw))
    return result


def parse_path(raw: Any) -> AttrPath | ValuePath:
    """Parse a PATCH path such as ``emails[type eq "work"].value``."""
    if not isinstance(raw, str):
        raise InvalidPath("'path' must be a string")
    try:
        node = Path(raw).ast
    except (InvalidPathException, ValueError) as error:
        raise InvalidPath(f"cannot read the path {raw!r}") from error
    if not isinstance(node, AttrPath | ValuePath):
        raise InvalidPath(f"cannot patch {raw!r}")
    return node


def apply(document: dict[str, Any], ops: Iterable[Operation]) -> dict[str, Any]:
    """Return a copy of a canonical SCIM document with the operations applied in order."""
    doc = copy.deepcopy(document)
    for operation in ops:
        if operation.path is None:
            _merge(doc, operation)
        elif isinstance(operation.path, ValuePath):
            _value_path(doc, operation, operation.path)
        else:
            _attr_path(doc, operation, operation.path)
    return doc


def _container(doc: dict[str, Any], path: AttrPath) -> tuple[dict[str, Any], str]:
    """Return the object holding the path's attribute, and the attribute's canonical name."""
    urn, attr = (path.uri, path.attr)
    if urn is None:
        urn, attr = split_urn(path.attr) if ":" in path.attr else (None, path.attr)
    canonical_urn = CANONICAL.get((urn or "").lower())
    name = CANONICAL.get(attr.lower(), attr)
    if canonical_urn in EXTENSIONS:
        return doc.setdefault(canonical_urn, {}), name
    return doc, name


def _merge(doc: dict[str, Any], operation: Operation) -> None:
    """Apply an add or replace without a path: its value is a partial resource."""
    if not isinstance(operation.value, dict):
        raise InvalidValue("an operation without a 'path' needs an object as its 'value'")
    value: dict[str, Any] = {}
    for key, item in operation.value.items():
        if "." in key and not key.lower().startswith("urn:"):
            # Some clients write sub-attributes as dotted keys: {"name.givenName": "Ann"}.
            head, _, tail = key.partition(".")
            value.setdefault(head, {})[tail] = item
        else:
            value[key] = item
    for key, item in canonical(value).items():
        if isinstance(item, dict) and isinstance(doc.get(key), dict):
            doc[key].update(item)
        elif operation.op == "add" and isinstance(item, list) and isinstance(doc.get(key), list):
            doc[key] = _union(doc[key], item)
        else:
            doc[key] = item


def _attr_path(doc: dict[str, Any], operation: Operation, path: AttrPath) -> None:
    whole = CANONICAL.get(f"{path.uri}:{path.attr}".lower()) if path.uri else None
    if whole in EXTENSIONS and path.sub_attr is None:  # the path is an extension's URN
        extension = doc.setdefault(whole, {})
        if operation.op == "remove":
            # What the server computes (read-only) stays; the client's values go.
            kept = {name for urn, name in READ_ONLY if urn == whole}
            for name in [name for name in extension if name not in kept]:
                del extension[name]
            return
        if not isinstance(operation.value, dict):
            raise InvalidValue(f"{whole!r} needs an object as its 'value'")
        value = {k: v for k, v in operation.value.items() if k.lower() != "schemas"}
        # Replace on a complex attribute leaves unnamed sub-attributes alone (RFC 7644 3.5.2.3).
        extension.update(canonical(value))
        return
    holder, name = _container(doc, path)
    value = canonical(operation.value)
    if path.sub_attr is not None:
        sub = CANONICAL.get(path.sub_attr.lower(), path.sub_attr)
        target = holder.get(name)
        if isinstance(target, list):  # emails.value: every value's sub-attribute
            for item in target:
                _set(item, sub, operation.op, value)
            return
        if operation.op == "remove":
            if isinstance(target, dict):
                target.pop(sub, None)
            return
        holder.setdefault(name, {})
        holder[name][sub] = value
        return
    if operation.op == "remove":
        holder.pop(name, None)
    elif operation.op == "add" and isinstance(holder.get(name), list):
        holder[name] = _union(holder[name], value if isinstance(value, list) else [value])
    elif operation.op == "add" and isinstance(holder.get(name), dict) and isinstance(value, dict):
        holder[name].update(value)
    else:
        holder[name] = value


def _value_path(doc: dict[str, Any], operation: Operation, path: ValuePath) -> None:
    holder, name = _container(doc, path.attr_path)
    values = holder.get(name)
    if not isinstance(values, list):
        values = []
    chosen = [item for item in values if isinstance(item, dict) and matches(path.val_filter, item)]
    if not chosen:
        if operation.op == "remove":
            return  # nothing to remove is not an error (idempotent retries)
        raise NoTarget(f"{operation.raw_path!r} selects no value")
    sub = CANONICAL.get(path.sub_attr.lower(), path.sub_attr) if path.sub_attr else None
    value = canonical(operation.value)
    if sub is None:
        if operation.op == "remove":
            holder[name] = [item for item in values if item not in chosen]
        elif isinstance(value, dict):
            for item in chosen:
                item.update(value)
        else:
            raise InvalidValue(f"{operation.raw_path!r} needs an object as its 'value'")
        return
    for item in chosen:
        _set(item, sub, operation.op, value)


def _set(item: Any, sub: str, op: str, value: Any) -> None:
    if not isinstance(item, dict):
        return
    if op == "remove":
        item.pop(sub, None)
    else:
        item[sub] = value


def _union(current: list[Any], added: list[Any]) -> list[Any]:
    """Add values not already there (RFC 7644 section 3.5.2.1: no duplicates)."""
    result = list(current)
    for item in added:
        if item not in result:
            result.append(item)
    return result


def matches(node: FilterNode, item: dict[str, Any]) -> bool:
    """Evaluate a value filter (``type eq "work"``) on one value of a multi-valued attribute."""
    if isinstance(node, LogicalExpr):
        results = (matches(term, item) for term in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not matches(node.expr, item)
    if isinstance(node, Present):
        return _field(item, node.attr_path) not in (None, "", [])
    if isinstance(node, Comparison):
        have, want = _field(item, node.attr_path), node.value
        if isinstance(have, str) and isinstance(want, str):
            have, want = have.casefold(), want.casefold()
        op = node.op.value
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        if isinstance(have, str) and isinstance(want, str):
            return {"co": want in have, "sw": have.startswith(want), "ew": have.endswith(want)}.get(
                op, False
            )
        return False
    raise InvalidPath("this value filter cannot be used in a PATCH path")


def _field(item: dict[str, Any], path: AttrPath) -> Any:
    name = path.attr if path.sub_attr is None else path.sub_attr
    for key, value in item.items():
        if key.lower() == name.lower():
            return value
    return None


# -- attributes / excludedAttributes (RFC 7644 section 3.4.2.5) -----------------------------

ALWAYS = frozenset({"id", "schemas"})


def project(
    document: dict[str, Any], attributes: str | None, excluded: str | None
) -> dict[str, Any]:
    """Return the document with only the asked attributes, or without the excluded ones."""
    if attributes:
        keep = _keys(attributes)
        result: dict[str, Any] = {key: document[key] for key in ALWAYS if key in document}
        for holder, name, sub in keep:
            source = document.get(holder, {}) if holder else document
            if name not in source:
                continue
            target = result.setdefault(holder, {}) if holder else result
            if sub and isinstance(source[name], dict):
                target.setdefault(name, {})
                if sub in source[name]:
                    target[name][sub] = source[name][sub]
            elif sub and isinstance(source[name], list):
                target[name] = [{sub: v[sub]} for v in source[name] if sub in v]
            else:
                target[name] = source[name]
        return result
    if excluded:
        result = copy.deepcopy(document)
        for holder, name, sub in _keys(excluded):
            if name in ALWAYS and not holder:
                continue
            target = result.get(holder, {}) if holder else result
            if sub and isinstance(target.get(name), dict):
                target[name].pop(sub, None)
            elif sub and isinstance(target.get(name), list):
                for item in target[name]:
                    if isinstance(item, dict):
                        item.pop(sub, None)
            elif not sub:
                target.pop(name, None)
        return result
    return document


def returns(name: str, attributes: str | None, excluded: str | None) -> bool:
    """Return whether a core attribute survives ``project`` (so work for it can be skipped)."""
    if attributes:
        return any(not holder and key == name for holder, key, _ in _keys(attributes))
    if excluded:
        return not any(
            not holder and key == name and sub is None for holder, key, sub in _keys(excluded)
        )
    return True


def _keys(text: str) -> list[tuple[str, str, str | None]]:
    """Return the parsed names of an ``attributes`` or ``excludedAttributes`` parameter."""
    return [_path_key(item) for item in text.split(",") if item.strip()]


def _path_key(text: str) -> tuple[str, str, str | None]:
    """Return (extension URN or "", attribute, sub-attribute) for an attribute name."""
    urn, rest = split_urn(text.strip())
    holder = urn if urn in EXTENSIONS else ""
    if urn in EXTENSIONS and not rest:
        return "", urn, None
    name, _, sub = rest.partition(".")
    canonical_sub = CANONICAL.get(sub.lower(), sub) if sub else None
    return holder, CANONICAL.get(name.lower(), name), canonical_sub


def wants_members(attributes: str | None, excluded: str | None) -> bool:
    """Return whether a Group response must carry members (so they must be read)."""
    if attributes:
        return any(_path_key(item)[1] == "members" for item in attributes.split(","))
    if excluded:
        return not any(_path_key(item)[1] == "members" for item in excluded.split(","))
    return True
