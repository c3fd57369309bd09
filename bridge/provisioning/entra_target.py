"""Entra ID as a downstream target: people go to its API-driven inbound provisioning endpoint.

Changes are buffered and sent as ``bulkUpload`` bodies of at most 50 operations (built by
``entra.bulk_requests``) with OAuth 2.0 client credentials. Entra matches on ``externalId``
and decides create, update or disable itself, so a person gone from the directory is a POST
with ``active: false``. Entra answers 202 ("staged"); a body it cannot take is refused with
a 4xx. Groups are not part of inbound provisioning and are skipped; Entra cannot be listed
through this endpoint, so there is no reconciling and no detecting of lost data.
"""

from __future__ import annotations

from typing import Any

import httpx2

from bridge.config import SyncTargetConfig
from bridge.core.pacing import TokenBucket
from bridge.core.sync import Change, Refused, Unavailable, verdict
from bridge.errors import InvalidValue
from bridge.provisioning import entra
from bridge.provisioning.auth import Credentials
from bridge.provisioning.mapping import CORE_USER, scim_user


class EntraTarget:
    """Buffer person changes and post them to a configured bulkUpload URL."""

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
        self.http = http or httpx2.Client(timeout=config.timeout)
        self.bucket = TokenBucket(config.rate)
        self.batch: list[dict[str, Any]] = []
        self.sent_requests = 0

    def apply(self, change: Change) -> None:
        """Add a person's change to the next bulk request; send it when it is full."""
        if change.kind == "group":
            return
        if change.deleted:
            user: dict[str, Any] = {
                "schemas": [CORE_USER],
                "externalId": change.uuid,
                "active": False,
            }
        else:
            user = scim_user(change, self.mapping)
        try:
            entra.entra_user(user)
        except InvalidValue as exc:
            raise Refused(str(exc)) from None
        self.batch.append(user)
        if len(self.batch) >= self.config.batch_size:
            self.flush()

    def flush(self) -> None:
        """Send the buffered changes; keep them when Entra is unavailable, drop them if refused."""
        if not self.batch:
            return
        # apply() flushes at batch_size, so the buffer always fits one request.
        body = next(entra.bulk_requests(self.batch, batch_size=self.config.batch_size))
        self._post(body)
        self.batch = []

    def _post(self, body: dict[str, Any]) -> None:
        self.bucket.take()
        headers = {**self.credentials.header(self.http), "Content-Type": entra.CONTENT_TYPE}
        try:
            answer = self.http.post(self.config.url, json=body, headers=headers)
        except httpx2.RequestError as exc:
            raise Unavailable(f"{self.name} unreachable ({type(exc).__name__})") from None
        self.sent_requests += 1
        seen = verdict(answer.status_code)
        if answer.status_code == 401:
            self.credentials.expire()
            raise Unavailable(f"{self.name} answered 401; renewing the OAuth token")
        if seen == "retry":
            raise Unavailable(f"{self.name} answered {answer.status_code}")
        if seen != "ok":  # the whole request was refused: retrying it cannot help
            self.batch = []
            raise Refused(f"bulkUpload: {answer.status_code} {answer.text[:300]}")

    def lost_data(self) -> bool:
        """Entra keeps what it staged; nothing to probe here."""
        return False

    def reconcile(self, present: set[str]) -> None:
        """Entra's inbound endpoint cannot be listed: people removed while away stay enabled.

        A removal seen by the feed is sent (active false); only a present-phase refresh,
        after the directory's session log was outrun, cannot name what left.
        """

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def forget(self) -> None:
        """No id cache: Entra matches on externalId itself."""
