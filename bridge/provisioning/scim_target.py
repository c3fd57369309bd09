"""A SCIM 2.0 app as a downstream target (Zoom, Slack, a learning platform), via scim2-client.

Every push is idempotent, as real provisioning clients make them: find the resource by
``externalId`` (our entryUUID), else by ``userName``, then replace it (PUT) or create it
(POST). A person gone from the directory is deactivated (PATCH ``active: false``), deleted
only when the target is configured with ``delete = true``. Group members are sent as the
target's ids of our people.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_client.errors import SCIMClientException

from bridge.config import SyncTargetConfig
from bridge.core.pacing import TokenBucket
from bridge.core.sync import Change, Kind, Refused, TargetReset, Unavailable, verdict
from bridge.provisioning.auth import Credentials
from bridge.provisioning.mapping import scim_group, scim_user

log = logging.getLogger(__name__)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 500
_MAX_REASON = 300
_RESOURCES: dict[Kind, str] = {"person": "Users", "group": "Groups"}
# What our externalIds look like (entryUUIDs): reconciling never touches another source's.
_OURS = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ScimTarget:
    """Push changes to one SCIM 2.0 service provider (RFC 7644)."""

    def __init__(
        self,
        name: str,
        config: SyncTargetConfig,
        credentials: Credentials,
        http: httpx2.Client | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.mapping = config.attributes
        self.credentials = credentials
        base = config.url if config.url.endswith("/") else config.url + "/"
        self.http = http or httpx2.Client(base_url=base, timeout=config.timeout)
        self.client = SyncSCIMClient(
            self.http, check_request_payload=False, check_response_payload=False
        )
        self.bucket = TokenBucket(config.rate)
        self.ids: dict[str, tuple[Kind, str]] = {}
        self.canary: str | None = None
        self.expect_data = False

    # -- the Target port ---------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Make the target match one change (see the module docstring for how)."""
        if change.deleted:
            self._remove(change)
        elif change.kind == "person":
            self._put_user(change)
        elif change.kind == "group" and self.config.groups:
            self._put_group(change)

    def flush(self) -> None:
        """Nothing is buffered: every apply is confirmed when it returns."""

    def lost_data(self) -> bool:
        """Return whether the target no longer has people it confirmed (it restarted empty).

        The canary is read by its id: a filter search may miss a user the target has (a
        target whose index lags its writes made the runner send everything again after an
        outage it had come through whole).
        """
        if self.canary is not None:
            known = self.ids.get(self.canary)
            if known is None:
                return self._find_by("Users", "externalId", self.canary) is None
            path = f"{_RESOURCES[known[0]]}/{known[1]}"
            status, _ = self._call("GET", path, params={"attributes": "id"}, allow=("missing",))
            return verdict(status) == "missing"
        _status, body = self._call("GET", "Users", params={"count": 1, "attributes": "id"})
        return self.expect_data and int(body.get("totalResults", 0)) == 0

    def reconcile(self, present: set[str]) -> None:
        """Deactivate (or delete) what carries one of our ids and is gone from the directory."""
        kinds: list[Kind] = ["person", "group"] if self.config.groups else ["person"]
        for kind in kinds:
            gone = [
                (uuid, ident) for uuid, ident in self._walk(_RESOURCES[kind]) if uuid not in present
            ]
            for uuid, ident in gone:
                self._retire(kind, uuid, ident)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def forget(self) -> None:
        """Drop the id cache and the canary (before a full refresh)."""
        self.ids.clear()
        self.canary = None

    # -- people and groups -------------------------------------------------------------------

    def _put_user(self, change: Change) -> None:
        user = scim_user(change, self.mapping)
        ident = self._id(change.uuid, "person", user.get("userName"))
        created = ident is None
        if ident is not None:
            status, _body = self._call("PUT", f"Users/{ident}", json=user, allow=("missing",))
            if verdict(status) == "missing":  # it forgot the id we had
                self._check_reset()
                self.ids.pop(change.uuid, None)
                created, ident = True, None
        if ident is None:
            ident = self._create("Users", user, "userName")
        self.ids[change.uuid] = ("person", ident)
        if self.canary is None:
            self.canary = change.uuid
        if created and self.config.groups:
            for group in change.groups:  # a group pushed before this person left it out
                known = self.ids.get(group)
                if known is not None and known[0] == "group":
                    self._patch(known[1], "Groups", "add", "members", [{"value": ident}])

    def _put_group(self, change: Change) -> None:
        members = [m for m in (self._member_id(uuid) for uuid in change.members) if m]
        group = scim_group(change, members)
        ident = self._id(change.uuid, "group", None)
        if ident is not None:
            status, _body = self._call("PUT", f"Groups/{ident}", json=group, allow=("missing",))
            if verdict(status) == "missing":
                self._check_reset()
                ident = None
        if ident is None:
            ident = self._create("Groups", group, "displayName")
        self.ids[change.uuid] = ("group", ident)

    def _member_id(self, uuid: str) -> str | None:
        known = self.ids.get(uuid)
        if known is not None:
            return known[1]
        ident = self._find_by("Users", "externalId", uuid)
        if ident is not None:
            self.ids[uuid] = ("person", ident)
        return ident

    def _remove(self, change: Change) -> None:
        kinds: list[Kind] = [change.kind] if change.kind != "unknown" else ["person", "group"]
        for kind in kinds:
            known = self.ids.get(change.uuid)
            ident = (
                known[1] if known else self._find_by(_RESOURCES[kind], "externalId", change.uuid)
            )
            if ident is not None:
                self._retire(kind, change.uuid, ident)
                return

    def _check_reset(self) -> None:
        """Raise TargetReset when a forgotten id means the target lost everything."""
        if self.lost_data():
            raise TargetReset(f"{self.name} no longer has the people it was sent")

    def _retire(self, kind: Kind, uuid: str, ident: str) -> None:
        resource = _RESOURCES[kind]
        if self.config.delete:
            self._call("DELETE", f"{resource}/{ident}", allow=("missing",))
            self.ids.pop(uuid, None)
            if self.canary == uuid:
                self.canary = None
        elif kind == "person":
            self._patch(ident, resource, "replace", "active", False)
        else:
            self._patch(ident, resource, "replace", "members", [])

    # -- lookups -----------------------------------------------------------------------------

    def _id(self, uuid: str, kind: Kind, user_name: str | None) -> str | None:
        known = self.ids.get(uuid)
        if known is not None:
            return known[1]
        resource = _RESOURCES[kind]
        ident = self._find_by(resource, "externalId", uuid)
        if ident is None and user_name:
            ident = self._find_by(resource, "userName", user_name)
        return ident

    def _find_by(self, resource: str, attribute: str, value: str) -> str | None:
        query = {"filter": f"{attribute} eq {_quoted(value)}", "attributes": "id"}
        _status, body = self._call("GET", resource, params=query)
        found = body.get("Resources") or []
        return str(found[0]["id"]) if found else None

    def _create(self, resource: str, document: dict[str, Any], unique: str) -> str:
        status, body = self._call("POST", resource, json=document, allow=("conflict",))
        if verdict(status) == "conflict":  # taken by an entry we did not know: take it over
            ident = self._find_by(resource, unique, str(document.get(unique, "")))
            if ident is None:
                raise Refused(f"{resource}: {status} {_reason(body)}")
            self._call("PUT", f"{resource}/{ident}", json=document)
            return ident
        return str(body["id"])

    def _patch(self, ident: str, resource: str, op: str, path: str, value: Any) -> None:
        body = {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}
        status, _body = self._call("PATCH", f"{resource}/{ident}", json=body, allow=("missing",))
        if verdict(status) == "missing":
            self._check_reset()

    def _walk(self, resource: str) -> Iterator[tuple[str, str]]:
        """Yield (externalId, id) of every resource whose externalId is an entryUUID."""
        start = 1
        while True:
            params = {
                "startIndex": start,
                "count": PAGE,
                "attributes": "id,externalId",
                "filter": "externalId pr",
            }
            _status, body = self._call("GET", resource, params=params)
            page = body.get("Resources") or []
            for item in page:
                if _OURS.match(str(item.get("externalId", ""))):
                    yield str(item["externalId"]), str(item["id"])
            start += len(page)
            if not page or start > int(body.get("totalResults", 0)):
                return

    # -- the wire ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        allow: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Send one request, rate-limited; raise Unavailable or Refused by its status."""
        self.bucket.take()
        headers = {**self.credentials.header(self.http), "Content-Type": "application/scim+json"}
        try:
            answer = self.client.request(method, path, json=json, params=params, headers=headers)
        except SCIMClientException as exc:
            raise Unavailable(f"{self.name} unreachable ({_network_reason(exc)})") from None
        status = answer.status_code
        body = _json(answer)
        seen = verdict(status)
        if status == 401 and self.config.auth == "oauth":
            self.credentials.expire()
            raise Unavailable(f"{self.name} answered 401; renewing the OAuth token")
        if seen == "retry":
            raise Unavailable(
                f"{self.name} answered {status} to {method} {path.split('/')[0]}",
                retry_after=_retry_after(answer.headers.get("Retry-After")),
            )
        if seen in ("ok", *allow):
            return status, body
        raise Refused(f"{method} {path.split('/')[0]}: {status} {_reason(body)}")


def _quoted(value: str) -> str:
    """Return a SCIM filter string literal (RFC 7644 section 3.4.2.2: JSON string rules)."""
    return json.dumps(value)


def _json(answer: httpx2.Response) -> dict[str, Any]:
    if not answer.content:
        return {}
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(body: dict[str, Any]) -> str:
    """Return a target's error in its words (scimType and detail), kept short."""
    parts = [str(body[k]) for k in ("scimType", "detail") if body.get(k)]
    return (" ".join(parts) or "no reason given")[:_MAX_REASON]


def _network_reason(exc: SCIMClientException) -> str:
    notes = getattr(exc, "__notes__", None) or []
    return str(notes[0])[:_MAX_REASON] if notes else type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    try:
        return min(300.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None
