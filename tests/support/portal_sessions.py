"""Browsers, stolen cookies and administrators' changes against a running `mims serve`."""

from __future__ import annotations

import http.cookiejar
import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.cli import Served, scim_call
from tests.support.served_portal import call

COOKIE = "mims_portal"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Browser:
    """One browser: its own cookie jar, calling the portal API."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, path: str, body: object) -> tuple[int, dict[str, Any]]:
        """POST JSON to /sspr/api/PATH with this browser's cookies."""
        return call(self.served, path, body, self.opener)

    def sign_in(self, login: str, password: str) -> None:
        """Sign in; the session cookie is kept in the jar."""
        status, body = self.call("login", {"loginId": login, "password": password})
        assert status == 200, body

    def cookie(self) -> str:
        """Return the portal cookie's value as it is now (what a thief would copy)."""
        return next(c.value for c in self.jar if c.name == COOKIE and c.value is not None)


def with_cookie(served: Served, cookie: str, path: str, body: object) -> tuple[int, dict[str, Any]]:
    """POST JSON to /sspr/api/PATH carrying a copied portal cookie, from another machine."""
    request = urllib.request.Request(
        f"{served.base}/sspr/api/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Cookie": f"{COOKIE}={cookie}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.load(error)


def signed_in(served: Served, cookie: str) -> bool:
    """Tell whether a cookie is a live session: 401 means over, 400 (no fields sent) means live.

    The call changes nothing: a password change with no fields is refused after the session
    is checked and before anything is read.
    """
    status, body = with_cookie(served, cookie, "password", {})
    assert status in (400, 401), (status, body)
    return status == 400


def scim(served: Served, method: str, path: str, body: object = None) -> dict[str, Any]:
    """Call SCIM with the suite's token; return the JSON answer (an error status fails)."""
    answer = scim_call(served, method, path, body)
    assert answer.status < 400, (answer.status, answer.body)
    document: dict[str, Any] = answer.body
    return document


def person_id(served: Served, login: str) -> str:
    """Return the SCIM id of the person with this login ID."""
    query = urllib.parse.urlencode({"filter": f'userName eq "{login}"'})
    found = scim(served, "GET", f"Users?{query}")["Resources"]
    assert len(found) == 1, found
    return str(found[0]["id"])


def scim_replace(served: Served, login: str, path: str, value: object) -> None:
    """Replace one attribute of a person through SCIM PATCH (RFC 7644 section 3.5.2)."""
    operation = {"op": "replace", "path": path, "value": value}
    scim(
        served,
        "PATCH",
        f"Users/{person_id(served, login)}",
        {"schemas": [PATCH], "Operations": [operation]},
    )


def sessions_file(served: Served) -> Path:
    """Return the data folder's sessions store."""
    return Path(served.env["MIMS_DATA_DIR"]) / "sessions.sqlite"


def age(served: Served, sql: str, *values: object) -> int:
    """Run an UPDATE on the sessions store (to stand for time passing); return rows changed."""
    with sqlite3.connect(sessions_file(served)) as connection:
        return connection.execute(sql, values).rowcount
