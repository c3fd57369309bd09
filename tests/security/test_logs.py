"""Log lines: JSON, no secret or personal value in any, one request id per request everywhere.

A real `mims serve` (gunicorn, two workers) runs a scripted mix: a SCIM create with a
password, portal sign-ins right and wrong, answers set, a reset by answers. Then no line of
its log holds the login ID, the name, a password, an answer or a token; and each request's id
is the same in its response header, its access line and its audit record. In the app itself
(the same handler and formatter), every line a request logs, a 500's traceback included,
carries the request's id; and an ``X-Request-Id`` is kept only from a trusted proxy.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config import Config, LogConfig
from bridge.directory.client import LdapClient
from bridge.web import logs
from tests.support.cli import Served, scim_call, serving

CONFIG = """
[log]
format = "json"

[http]
workers = 2

[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""
GIVEN, FAMILY = "Philippa", "Quennell"
PASSWORD = "Xylophone8Meadow"
WRONG = "Harpsichord3Tundra"
NEWER = "Marzipan6Glacier"
RESET_TO = "Tamarind4Lantern"
ANSWERS = {
    "mother_maiden_name": "Wolstenholme",
    "favourite_colour": "Chartreuse",
    "favourite_city": "Ouagadougou",
}
FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "route",
    "method",
    "status",
    "duration_ms",
    "actor",
    "error",
}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(CONFIG) as running:
        yield running


def portal(
    served: Served, path: str, body: object, opener: urllib.request.OpenerDirector
) -> tuple[int, str, dict[str, Any]]:
    """POST JSON to /sspr/api/PATH; return status, X-Request-Id and body."""
    request = urllib.request.Request(
        f"{served.base}/sspr/api/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with opener.open(request, timeout=60) as response:
            return int(response.status), response.headers["X-Request-Id"], json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.headers["X-Request-Id"], json.load(error)


def json_lines(served: Served) -> list[dict[str, Any]]:
    """Return the log's JSON lines (the banner before gunicorn starts is text)."""
    return [json.loads(line) for line in served.output().splitlines() if line.startswith("{")]


def test_no_line_holds_a_secret_and_each_request_keeps_one_id(served: Served) -> None:
    created = scim_call(
        served,
        "POST",
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "name": {"givenName": GIVEN, "familyName": FAMILY, "formatted": f"{GIVEN} {FAMILY}"},
            "password": PASSWORD,
        },
    )
    assert created.status == 201, created.body
    login, person = created.body["userName"], created.body["id"]
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    answered: list[tuple[int, str, dict[str, Any]]] = []
    ids: dict[str, str] = {}  # the last request id of each portal call

    def send(path: str, body: object) -> dict[str, Any]:
        answered.append(portal(served, path, body, browser))
        ids[path] = answered[-1][1]
        return answered[-1][2]

    send("login", {"loginId": login, "password": WRONG})
    assert answered[-1][0] == 401
    wrong_id = ids["login"]
    password = PASSWORD
    if send("login", {"loginId": login, "password": PASSWORD})["next"] == "change_password":
        send("password", {"currentPassword": PASSWORD, "newPassword": NEWER})
        password = NEWER
    assert send("answers", {"answers": ANSWERS, "currentPassword": password}) == {"next": "done"}
    send("logout", {})
    ticket = send("reset/start", {"loginId": login})["ticket"]
    token = send("reset/verify", {"ticket": ticket, "answers": ANSWERS})["resetToken"]
    send("reset/complete", {"resetToken": token, "newPassword": RESET_TO})
    assert answered[-1][0] == 200, answered[-1]

    lines = json_lines(served)
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # "Booting worker"
    secrets = [login, login.split("@")[0], GIVEN, FAMILY, PASSWORD, WRONG, NEWER, RESET_TO]
    secrets += [*ANSWERS.values(), served.token, ticket, token]
    for line in lines:
        assert FIELDS <= set(line), line
        text = json.dumps(line, ensure_ascii=False).lower()
        for secret in secrets:
            assert secret.lower() not in text, (secret, line)

    audit = [
        json.loads(raw)
        for raw in (Path(served.env["MIMS_DATA_DIR"]) / "audit.log").read_text().splitlines()
    ]
    by_request = {event["request_id"]: event for event in audit}
    assert by_request[created.request_id]["actor"] == "tests"  # the token's name
    for status, request_id, _ in [(created.status, created.request_id, None), *answered]:
        mine = [line for line in lines if line["request_id"] == request_id]
        access = [line for line in mine if line["logger"] == "mims.access"]
        assert len(access) == 1, (request_id, mine)
        assert access[0]["status"] == status
        assert access[0]["route"].startswith(("/scim/v2/", "/sspr/api/"))
    # The changes (the SCIM create, the answers, the reset) are in the trail under their ids.
    assert {created.request_id, ids["answers"], ids["reset/complete"]} <= set(by_request)
    wrong = next(line for line in lines if line["request_id"] == wrong_id)
    assert (wrong["error"], wrong["actor"]) == ("wrong_login", None)
    changed = next(line for line in lines if line["request_id"] == ids["answers"])
    assert changed["actor"] == person  # the person's opaque id, never the login ID


@pytest.fixture
def app_logs(
    config: Config, directory: LdapClient, capsys: pytest.CaptureFixture[str]
) -> Iterator[Flask]:
    """An app behind a trusted proxy at 127.0.0.1, its lines in JSON on (captured) stderr."""
    root = logging.getLogger()
    level = root.level
    logs.configure(LogConfig(format="json"))
    app = create_app(
        config.with_overrides(http={"trusted_proxies": ["127.0.0.1"]}), client=directory
    )
    try:
        yield app
    finally:
        for handler in [h for h in root.handlers if getattr(h, "mims", False)]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_every_line_of_a_request_carries_its_id(
    app_logs: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    @app_logs.get("/boom")
    def boom() -> str:
        logging.getLogger("bridge.test").warning("about to fail")
        raise RuntimeError("internals")

    capsys.readouterr()
    response = app_logs.test_client().get("/boom")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert response.status_code == 500
    assert [line["logger"] for line in lines] == ["bridge.test", "bridge.errors", "mims.access"]
    assert {line["request_id"] for line in lines} == {response.headers["X-Request-Id"]}
    assert lines[-1]["route"] == "/boom" and lines[-1]["error"] == "internal"


@pytest.mark.parametrize(
    ("peer", "sent", "kept"),
    [
        ("127.0.0.1", "lb-4f2a.9_x", True),  # a trusted proxy's id
        ("192.0.2.7", "lb-4f2a.9_x", False),  # anyone else's
        ("127.0.0.1", "two words", False),  # not plain
        ("127.0.0.1", "x" * 65, False),  # too long
    ],
)
def test_a_request_id_is_kept_only_from_a_trusted_proxy(
    app_logs: Flask, capsys: pytest.CaptureFixture[str], peer: str, sent: str, kept: bool
) -> None:
    capsys.readouterr()
    response = app_logs.test_client().get(
        "/livez", headers={"X-Request-Id": sent}, environ_base={"REMOTE_ADDR": peer}
    )
    returned = response.headers["X-Request-Id"]
    assert (returned == sent) is kept
    access = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert (access["request_id"], access["route"], access["status"]) == (returned, "/livez", 200)


def test_text_lines_end_with_the_request_id(
    app_logs: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(LogConfig(format="text"))  # replaces the JSON handler, never stacks
    capsys.readouterr()
    response = app_logs.test_client().get("/readyz")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "[INFO] GET /readyz 200 " in lines[0]
    assert lines[0].endswith(f"(request {response.headers['X-Request-Id']})")
