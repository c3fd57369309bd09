"""People and portal calls against a running `mims serve`, over HTTP as an outsider would."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ldap3
from ldap3.utils.conv import escape_filter_chars

from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import Served
from tests.support.directory import SUFFIX, admin_connection
from tests.support.portal import ANSWERS, GOOD, NEWER

WRONG = {"mother_maiden_name": "No", "favourite_colour": "Nope", "favourite_city": "Nowhere"}


def call(
    served: Served, path: str, body: object, opener: urllib.request.OpenerDirector | None = None
) -> tuple[int, dict[str, Any]]:
    """POST JSON to /sspr/api/PATH (a fresh connection each time); return status and body."""
    request = urllib.request.Request(
        f"{served.base}/sspr/api/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
            return int(response.status), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), json.load(error)


def student(served: Served, given: str, family: str) -> str:
    """Create a student with the password GOOD through SCIM; return the login ID."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "password": GOOD,
    }
    request = urllib.request.Request(
        f"{served.base}/scim/v2/Users",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {served.token}",
            "Content-Type": "application/scim+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["userName"])


def set_up(served: Served, login: str) -> str:
    """Sign in as a new student, take the first-login steps with ANSWERS; return the password."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    status, signed = call(served, "login", {"loginId": login, "password": GOOD}, opener)
    assert status == 200, signed
    password = GOOD
    if signed["next"] == "change_password":
        change = {"currentPassword": GOOD, "newPassword": NEWER}
        assert call(served, "password", change, opener)[0] == 200
        password = NEWER
    answers = {"answers": ANSWERS, "currentPassword": password}
    assert call(served, "answers", answers, opener)[0] == 200
    return password


def ticket(served: Served, login: str) -> str:
    """Start a reset for a login ID; return the ticket."""
    status, started = call(served, "reset/start", {"loginId": login})
    assert status == 200, started
    return str(started["ticket"])


@contextmanager
def directory_of(served: Served) -> Iterator[ldap3.Connection]:
    """Yield a rootDN connection to the slapd that `mims serve` runs."""
    with admin_connection(ManagedSlapd(Path(served.env["MIMS_DATA_DIR"]), SUFFIX)) as connection:
        yield connection


def attribute(served: Served, login: str, name: str) -> str | None:
    """Return the first value of an operational or user attribute of a person, or None."""
    with directory_of(served) as connection:
        query = f"(mail={escape_filter_chars(login)})"
        connection.search(SUFFIX, query, ldap3.SUBTREE, attributes=[name], size_limit=1)
        values = connection.response[0]["raw_attributes"].get(name) or []
        return values[0].decode() if values else None


def replace_attribute(served: Served, login: str, name: str, values: list[str]) -> None:
    """Write an attribute of a person as the directory's root (to stand for time passing)."""
    with directory_of(served) as connection:
        query = f"(mail={escape_filter_chars(login)})"
        connection.search(SUFFIX, query, ldap3.SUBTREE, size_limit=1)
        entry = connection.response[0]["dn"]
        connection.modify(entry, {name: [(ldap3.MODIFY_REPLACE, values)]})
