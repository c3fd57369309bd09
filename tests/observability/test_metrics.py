"""/metrics from `mims serve` with two workers, after a scripted mix of what people do.

The counters must move by exactly what was done, whichever worker answered each request (the
multiprocess folder sums them); no label or sample carries a login ID, a name, a password, an
answer or a token used in the mix; only an allowed address or the token reads the page.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bench.peer_server import PeerServer
from tests.support.cli import Served, mims, scim_call, serving, wait_for
from tests.support.portal import ANSWERS, GOOD
from tests.support.ports import free_port
from tests.support.served_portal import WRONG, call, set_up, student, ticket
from tests.support.sync import TARGET, TOKEN_ENV

METRICS_TOKEN = "scrape-7b1f0c9e4d2a"
RESET_PASSWORD = "Harbour8Gentle55"
WRONG_PASSWORD = "Wrong-Guess-318"
PEOPLE = [("Quillon", "Marchetti"), ("Ysolde", "Brannagh"), ("Tavish", "Okonkwo")]
UNKNOWN = "nobody_zz@students.edu.sg"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True)
class Bridge:
    served: Served
    peer: PeerServer


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    folder = tmp_path_factory.mktemp("metrics")
    token_file = folder / "metrics.token"
    token_file.write_text(METRICS_TOKEN + "\n")
    token_file.chmod(0o600)
    with PeerServer(folder / "peer", workers=1, threads=4, port=free_port()) as peer:
        config = f"""
[http]
workers = 2
trusted_proxies = ["127.0.0.1"]

[sspr]
rate_limit = "200 per minute"

[metrics]
allow = ["10.9.9.9"]
token_file = "{token_file}"

[sync.targets.{TARGET}]
kind = "scim"
url = "{peer.base_url}"
token_env = "{TOKEN_ENV}"
rate = 1000
"""
        with serving(config) as served:
            yield Bridge(served, peer)


def scrape(served: Served, headers: dict[str, str] | None = None) -> tuple[int, str]:
    wanted = {"Authorization": f"Bearer {METRICS_TOKEN}"} if headers is None else headers
    request = urllib.request.Request(f"{served.base}/metrics", headers=wanted)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.read().decode()


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def sign_in(served: Served, login: str, password: str) -> int:
    return call(served, "login", {"loginId": login, "password": password})[0]


def reset_with_answers(served: Served, login: str) -> None:
    """One wrong answer set, then the right one and a new password, in one browser."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    wrong = {"ticket": ticket(served, login), "answers": WRONG}
    assert call(served, "reset/verify", wrong, browser)[0] != 200
    right = {"ticket": ticket(served, login), "answers": ANSWERS}
    status, verified = call(served, "reset/verify", right, browser)
    assert status == 200, verified
    done = {"resetToken": verified["resetToken"], "newPassword": RESET_PASSWORD}
    assert call(served, "reset/complete", done, browser)[0] == 200


@pytest.mark.slow
def test_counters_move_by_exactly_what_was_done_across_both_workers(bridge: Bridge) -> None:
    served = bridge.served
    status, text = scrape(served)
    assert status == 200, text
    before = samples(text)

    ann, ben, cal = (student(served, given, family) for given, family in PEOPLE)
    set_up(served, ann)  # one sign-in that succeeds (and the first-login steps)
    assert sign_in(served, ben, GOOD) == 200
    for _ in range(5):  # ppolicy's max_failures: the fifth locks Cal out
        assert sign_in(served, cal, WRONG_PASSWORD) == 401
    assert sign_in(served, cal, GOOD) == 401  # locked: the same answer, counted apart
    assert sign_in(served, UNKNOWN, WRONG_PASSWORD) == 401
    reset_with_answers(served, ann)
    environment = served.env | {TOKEN_ENV: bridge.peer.token}
    run = mims("sync", "run", "--once", env=environment, timeout=120)
    assert run.returncode == 0, run.stderr
    delivered = int(re.search(r"delivered (\d+)", run.stderr).group(1))  # type: ignore[union-attr]
    shown = json.loads(mims("sync", "status", "--json", env=environment).stdout)[0]

    status, text = scrape(served)
    assert status == 200, text
    after = samples(text)

    assert (
        moved(
            before,
            after,
            "mims_scim_operations_total",
            resource="Users",
            method="POST",
            status="201",
        )
        == 3
    )
    http = {"route": "/sspr/api/login", "method": "POST"}
    assert moved(before, after, "mims_http_requests_total", **http, status="200") == 2
    assert moved(before, after, "mims_http_requests_total", **http, status="401") == 7
    assert moved(before, after, "mims_http_request_duration_seconds_count", **http) == 9
    assert moved(before, after, "mims_sign_ins_total", outcome="success") == 2
    assert moved(before, after, "mims_sign_ins_total", outcome="wrong") == 6
    assert moved(before, after, "mims_sign_ins_total", outcome="locked") == 1
    assert moved(before, after, "mims_answer_checks_total", outcome="wrong") == 1
    assert moved(before, after, "mims_answer_checks_total", outcome="right") == 1
    assert moved(before, after, "mims_password_resets_total", outcome="success") == 1
    # Each sign-in's first bind is counted: as the person, or as the locked decoy.
    binds = moved(
        before, after, "mims_ldap_operations_total", operation="bind", result="invalidCredentials"
    )
    assert binds >= 6
    assert (
        moved(before, after, "mims_ldap_operations_total", operation="add", result="success") >= 3
    )

    target = {"target": TARGET}
    assert delivered >= 3
    assert value(after, "mims_sync_changes_total", **target) == shown["pushed"] == delivered
    assert value(after, "mims_sync_queue_depth", **target) == 0
    assert value(after, "mims_sync_lag_seconds", **target) == 0
    assert value(after, "mims_sync_dead_letters", **target) == 0
    last = value(after, "mims_sync_last_success_timestamp_seconds", **target)
    assert abs(last - datetime.now(UTC).timestamp()) < 300
    assert value(after, "mims_certificate_expiry_timestamp_seconds", certificate="ldap") > last
    # slapd's own figures, read from cn=Monitor: its binds include every sign-in's.
    slapd_binds = value(after, "mims_slapd_operations_total", operation="bind")
    assert slapd_binds - value(before, "mims_slapd_operations_total", operation="bind") >= 9
    assert value(after, "mims_slapd_connections") >= 1
    assert {"read", "write"} <= {
        dict(labels)["kind"] for name, labels in after if name == "mims_slapd_waiters"
    }

    # Both workers answered some of it, and the page is their sum.
    per_worker = worker_counts(served, "mims_http_requests_total")
    assert len([count for count in per_worker if count]) == 2, per_worker
    assert sum(per_worker) == sum(
        count
        for (name, _), count in samples(scrape(served)[1]).items()
        if name == "mims_http_requests_total"
    )  # the scrape counts itself after its page is made


def worker_counts(served: Served, name: str) -> list[float]:
    """Return one total of a counter per process file in DATA/metrics."""
    folder = Path(served.env["MIMS_DATA_DIR"]) / "metrics"
    totals = []
    for file in sorted(folder.glob("counter_*.db")):
        merged = MultiProcessCollector.merge([str(file)], accumulate=True)
        totals.append(sum(s.value for m in merged for s in m.samples if s.name == name))
    return totals


@pytest.mark.slow
def test_no_label_or_sample_carries_what_people_typed(bridge: Bridge) -> None:
    served = bridge.served
    logins = [student(served, f"{given}x", f"{family}x") for given, family in PEOPLE]
    for login in logins:
        sign_in(served, login, WRONG_PASSWORD)
    sign_in(served, UNKNOWN, WRONG_PASSWORD)
    # Login IDs in a SCIM filter and in a path no route has: labels take the route, not the URL.
    by_name = quote('userName eq "' + logins[0] + '"')
    assert scim_call(served, "GET", f"Users?filter={by_name}").status == 200
    assert wait_for(f"{served.base}/sspr/api/{quote(logins[1])}", timeout=0) == 404
    status, text = scrape(served)
    assert status == 200
    secrets = [*logins, UNKNOWN, GOOD, WRONG_PASSWORD, RESET_PASSWORD, served.token, METRICS_TOKEN]
    secrets += (
        [name for pair in PEOPLE for name in pair] + list(ANSWERS.values()) + list(WRONG.values())
    )
    secrets += [login.split("@")[0] for login in logins] + [bridge.peer.token]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for label in sample.labels.values():
                assert not any(typed(s, label) for s in secrets), (sample.name, label)
    for secret in secrets:
        assert len(secret) < 6 or secret not in text


def typed(secret: str, label: str) -> bool:
    """Whether a label holds a secret: whole, or inside it when it is long enough to tell.

    Short answers ("No", "Lim") are whole words only: "noSuchObject" holds no answer.
    """
    secret, label = secret.lower(), label.lower()
    return secret == label or (len(secret) >= 6 and secret in label)


def test_metrics_answer_only_allowed_addresses_or_the_token(bridge: Bridge) -> None:
    served = bridge.served
    assert scrape(served, {})[0] == 404  # 127.0.0.1 is not in [metrics] allow here
    assert scrape(served, {"Authorization": "Bearer not-the-token"})[0] == 404
    assert scrape(served, {"Authorization": f"Basic {METRICS_TOKEN}"})[0] == 404
    assert scrape(served, {"X-Forwarded-For": "10.1.1.1"})[0] == 404
    status, text = scrape(served, {"X-Forwarded-For": "10.9.9.9"})  # allowed, via the proxy
    assert status == 200 and "mims_http_requests_total" in text
    status, text = scrape(served)
    assert status == 200 and "mims_ldap_operations_total" in text
    assert os.stat(Path(served.env["MIMS_DATA_DIR"]) / "metrics").st_mode & 0o777 == 0o700


def test_an_import_on_the_serve_host_shows_its_rows(bridge: Bridge, tmp_path: Path) -> None:
    served = bridge.served
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "external_id,full_name,role,school,level,class\n"
        "M1,Orla Vantongeren,student,Clementi,P2,2A\n"
        "M2,Piet Zwanenburg,student,Clementi,P2,2A\n"
        "M3,,student,Clementi,P2,2A\n"  # no name: rejected
    )
    before = samples(scrape(served)[1])
    first = mims("import", str(roster), env=served.env)
    assert first.returncode == 1, first.stderr  # one row rejected
    again = mims("import", str(roster), env=served.env)
    after = samples(scrape(served)[1])
    assert again.returncode == 1
    assert moved(before, after, "mims_import_rows_total", result="added") == 2
    assert moved(before, after, "mims_import_rows_total", result="unchanged") == 2
    assert moved(before, after, "mims_import_rows_total", result="failed") == 2
    # The progress gauge is there while an import runs, gone with it.
    assert not any(name == "mims_import_progress_ratio" for name, _ in after)


@pytest.mark.parametrize(
    ("mode", "content", "said"),
    [
        (0o644, "t0ken-of-the-scraper", "is readable by others; chmod 600 it"),
        (0o600, "\n", "is empty"),
        (None, "", "cannot read"),
    ],
)
def test_a_bad_token_file_stops_mims_serve_in_one_line(
    tmp_path: Path, mode: int | None, content: str, said: str
) -> None:
    token_file = tmp_path / "metrics.token"
    if mode is not None:
        token_file.write_text(content)
        token_file.chmod(mode)
    (tmp_path / "mims.toml").write_text(f'[metrics]\ntoken_file = "{token_file}"\n')
    env = {"HOME": str(tmp_path), "MIMS_CONFIG": str(tmp_path / "mims.toml")}
    env |= {"MIMS_DATA_DIR": str(tmp_path / "d"), "MIMS_LDAP_PORT": str(free_port())}
    run = mims("serve", "--port", str(free_port()), env=env)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: [metrics] token_file: "), lines
    assert said in lines[0]
    assert "t0ken" not in run.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was made
