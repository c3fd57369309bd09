"""Target pieces without a directory: the attribute mapping, config checks, OAuth client
credentials and the Entra bulkUpload transport against a local server that records requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from bridge.config import SyncTargetConfig, load_config
from bridge.core.sync import Change, Refused, Unavailable
from bridge.errors import ConfigError
from bridge.provisioning.auth import Credentials
from bridge.provisioning.entra import BULK_REQUEST, CORE_USER, ENTERPRISE_USER
from bridge.provisioning.entra_target import EntraTarget
from bridge.provisioning.mapping import scim_user

MARY = Change(
    uuid="5d1c0a52-0000-4000-8000-000000000001",
    kind="person",
    attributes={
        "mail": ("mary_tan@students.edu.sg",),
        "cn": ("Mary Tan",),
        "givenname": ("Mary",),
        "sn": ("Tan",),
        "employeenumber": ("S1234567A",),
        "mimsdisabled": ("TRUE",),
    },
    active=False,
)


def test_the_default_mapping_sends_what_scim_apps_match_on() -> None:
    user = scim_user(MARY, SyncTargetConfig(url="https://x.example/", token_env="T").attributes)
    assert user["userName"] == "mary_tan@students.edu.sg"
    assert user["externalId"] == MARY.uuid
    assert user["name"] == {"formatted": "Mary Tan", "givenName": "Mary", "familyName": "Tan"}
    assert user["emails"] == [
        {"value": "mary_tan@students.edu.sg", "type": "work", "primary": True}
    ]
    assert user["active"] is False
    assert user[ENTERPRISE_USER] == {"employeeNumber": "S1234567A"}
    assert "displayName" not in user  # no value, no key


def test_the_default_mapping_sends_what_clients_sent_not_what_ldap_consumers_read() -> None:
    siti = Change(
        uuid="5d1c0a52-0000-4000-8000-000000000002",
        kind="person",
        attributes={
            "mail": ("siti_rahmah@schools.gov.sg",),
            "title": ("Head of Mathematics",),
            "ou": ("Mathematics",),  # derived for LDAP consumers
            "o": ("Clementi Primary School", "Bedok Secondary School"),
            "mimsdepartment": ("Mathematics",),
            "mimsorganization": ("MOE",),
        },
    )
    user = scim_user(siti, SyncTargetConfig(url="https://x.example/", token_env="T").attributes)
    assert user["title"] == "Head of Mathematics"
    assert user[ENTERPRISE_USER] == {"department": "Mathematics", "organization": "MOE"}


def test_a_target_mapping_is_laid_over_the_default() -> None:
    settings = SyncTargetConfig(
        url="https://x.example/", token_env="T", mapping={"userName": "employeeNumber"}
    )
    assert scim_user(MARY, settings.attributes)["userName"] == "S1234567A"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "ftp://x"}, "is not an http:// or https:// URL"),
        ({"url": "https://x.example/"}, "token_env: name the environment variable"),
        ({"url": "https://x.example/", "auth": "oauth"}, "token_url: OAuth client credentials"),
        ({"url": "https://x.example/", "token_env": "lower"}, "is not an environment variable"),
        (
            {
                "url": "https://x.example/",
                "token_env": "T",
                "mapping": {"password": "userPassword"},
            },
            "is not an attribute we send",
        ),
        ({"url": "https://x.example/", "token_env": "T", "secret": "x"}, "unknown key"),
    ],
)
def test_bad_target_settings_are_one_clear_line(
    tmp_path: Any, table: dict[str, Any], message: str
) -> None:
    lines = [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    lines += [
        f"mapping = {{ {', '.join(f'{k} = {json.dumps(v)}' for k, v in m.items())} }}"
        for m in [table.get("mapping")]
        if m
    ]
    file = tmp_path / "site.toml"
    file.write_text("[sync.targets.zoom]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(file, env={"HOME": str(tmp_path)})
    assert "sync.targets.zoom" in str(caught.value)
    assert "\n" not in str(caught.value)


class Recorder(BaseHTTPRequestHandler):
    """A token endpoint and a bulkUpload endpoint that record what they were sent."""

    requests: list[tuple[str, dict[str, str], Any]] = []
    answers: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.path == "/token":
            form = {k: v[0] for k, v in parse_qs(body).items()}
            self.requests.append((self.path, dict(self.headers), form))
            self._send(200, {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600})
            return
        self.requests.append((self.path, dict(self.headers), json.loads(body)))
        status = self.answers.pop(0) if self.answers else 202
        self._send(status, {} if status < 400 else {"error": "nope"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.requests, Recorder.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def entra(recorder: str, **settings: Any) -> EntraTarget:
    config = SyncTargetConfig(
        kind="entra",
        url=f"{recorder}/bulkUpload",
        auth="oauth",
        token_url=f"{recorder}/token",
        client_id="app-1",
        client_secret_env="ENTRA_SECRET",
        scope="https://graph.microsoft.com/.default",
        **settings,
    )
    return EntraTarget("entra", config, Credentials("entra", config, env={"ENTRA_SECRET": "s3"}))


def person(number: int) -> Change:
    return Change(
        uuid=f"uuid-{number}", kind="person", attributes={"mail": (f"p{number}@students.edu.sg",)}
    )


def test_entra_gets_bulk_requests_of_at_most_50_with_a_client_credentials_token(
    recorder: str,
) -> None:
    target = entra(recorder)
    for number in range(120):
        target.apply(person(number))
    target.apply(Change(uuid="uuid-gone", kind="person", deleted=True))
    target.apply(Change(uuid="group-1", kind="group"))  # not part of inbound provisioning
    target.flush()
    target.close()
    token, *bulks = Recorder.requests
    assert token[0] == "/token"
    assert token[2] == {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": "s3",
        "scope": "https://graph.microsoft.com/.default",
    }
    assert [len(body["Operations"]) for _path, _headers, body in bulks] == [50, 50, 21]
    for _path, headers, body in bulks:
        assert headers["Authorization"] == "Bearer tok-1"  # one token, reused
        assert headers["Content-Type"] == "application/scim+json"
        assert body["schemas"] == [BULK_REQUEST]
    last = bulks[-1][2]["Operations"][-1]
    assert last["bulkId"] == "uuid-gone"
    assert last["data"]["active"] is False
    assert last["data"]["schemas"][:2] == [CORE_USER, ENTERPRISE_USER]


def test_entra_unavailable_keeps_the_batch_and_a_refusal_drops_it(recorder: str) -> None:
    target = entra(recorder, batch_size=2)
    Recorder.answers = [503, 202, 400]
    target.apply(person(1))
    with pytest.raises(Unavailable):
        target.apply(person(2))  # full: sent, 503
    target.flush()  # the same two again: 202
    sent = [body for path, _h, body in Recorder.requests if path == "/bulkUpload"]
    assert sent[0] == sent[1]
    target.apply(person(3))
    with pytest.raises(Refused, match="400"):
        target.flush()
    assert target.batch == []
    target.close()


def test_a_missing_secret_is_named_not_shown() -> None:
    config = SyncTargetConfig(url="https://x.example/", token_env="ZOOM_TOKEN")
    with pytest.raises(ConfigError, match="ZOOM_TOKEN is not set"):
        Credentials("zoom", config, env={})
