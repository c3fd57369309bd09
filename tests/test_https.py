"""HTTPS: `mims serve` with a certificate, HSTS and Secure cookies only over HTTPS, the
plain-HTTP warning, trusted proxies, and the refusals before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.certificates import make_certificates
from tests.support.cli import mims, serving
from tests.support.portal import post


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    """Run curl quietly, failing on transport errors (not on HTTP statuses)."""
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=30, check=False
    )


def https_toml(cert: Path, key: Path) -> str:
    return f'[http]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'


def test_mims_serve_answers_https_to_curl_with_the_ca(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    with serving(https_toml(certs.cert, certs.key), ca=certs.ca, workers=1) as served:
        assert served.base.startswith("https://127.0.0.1:")
        ready = curl("--cacert", str(certs.ca), "-w", "%{http_code}", f"{served.base}/readyz")
        assert ready.returncode == 0, ready.stderr
        assert ready.stdout.endswith("200")
        users = curl(
            "--cacert",
            str(certs.ca),
            "-H",
            f"Authorization: Bearer {served.token}",
            f"{served.base}/scim/v2/Users?count=1",
        )
        assert users.returncode == 0, users.stderr
        assert (
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
            in json.loads(users.stdout)["schemas"]
        )
        portal = curl(
            "--cacert", str(certs.ca), "-D", "-", "-o", "/dev/null", f"{served.base}/sspr/"
        )
        headers = portal.stdout.lower()
        assert "strict-transport-security: max-age=31536000" in headers
        cookie = next(line for line in headers.splitlines() if line.startswith("set-cookie:"))
        assert "; secure" in cookie
        # Nothing falls back to plain text, and a client that does not trust the CA is refused.
        assert curl(f"http://{served.base.removeprefix('https://')}/readyz").returncode != 0
        assert curl(f"{served.base}/readyz").returncode != 0
        assert "https://127.0.0.1:" in served.output()
        assert "Warning" not in served.output()


def test_mims_serve_https_uses_a_certificate_from_the_data_folders_ca() -> None:
    with serving(local_https=True, workers=1) as served:
        ca = Path(served.env["MIMS_DATA_DIR"]) / "tls" / "ca.pem"
        assert served.base.startswith("https://127.0.0.1:")
        ready = curl("--cacert", str(ca), "-w", "%{http_code}", f"{served.base}/readyz")
        assert (ready.returncode, ready.stdout[-3:]) == (0, "200"), ready.stderr
        via_name = curl(
            "--cacert",
            str(ca),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            f"https://localhost:{served.base.rsplit(':', 1)[1]}/healthz",
        )
        assert (via_name.returncode, via_name.stdout) == (0, "200"), via_name.stderr
        assert curl(f"{served.base}/readyz").returncode != 0  # not trusted without the CA
        key = Path(served.env["MIMS_DATA_DIR"]) / "tls" / "http.key"
        assert key.stat().st_mode & 0o777 == 0o600
        assert f"curl --cacert {ca} https://127.0.0.1:" in served.output()


def test_plain_http_off_loopback_warns_and_sends_no_hsts() -> None:
    with serving(host="0.0.0.0", workers=1) as served:
        assert served.base.startswith("http://")
        lines = [line for line in served.output().splitlines() if "Warning" in line]
        assert len(lines) == 1 and "plain HTTP on 0.0.0.0" in lines[0], served.output()
        # gunicorn's own trust of local X-Forwarded-Proto is off: no proxy is configured.
        portal = curl(
            "-D", "-", "-o", "/dev/null", "-H", "X-Forwarded-Proto: https", f"{served.base}/sspr/"
        )
        headers = portal.stdout.lower()
        assert "content-security-policy:" in headers
        assert "strict-transport-security" not in headers
        cookie = next(line for line in headers.splitlines() if line.startswith("set-cookie:"))
        assert "secure" not in cookie.replace("samesite", "")


def test_plain_http_on_loopback_does_not_warn() -> None:
    with serving(workers=1) as served:
        assert "Warning" not in served.output()


@pytest.fixture
def proxied(config: Config, directory: LdapClient) -> Flask:
    overrides = {"http": {"trusted_proxies": ("10.0.0.1", "fd00::/64")}}
    app = create_app(
        config.with_overrides(sspr={"rate_limit": "2 per minute"}, **overrides), client=directory
    )
    app.testing = True
    return app


def peer(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_hsts_and_secure_cookies_follow_the_scheme(client: FlaskClient) -> None:
    plain = client.get("/sspr/")
    assert "Strict-Transport-Security" not in plain.headers
    assert "Secure" not in plain.headers["Set-Cookie"]
    secure = client.get("/sspr/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in secure.headers["Set-Cookie"]


@pytest.mark.parametrize("address", ["10.0.0.1", "fd00::7"])
def test_a_trusted_proxy_reports_the_scheme(proxied: Flask, address: str) -> None:
    response = peer(proxied, address).get("/sspr/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("address", ["10.0.0.2", "fd01::7", "127.0.0.1"])
def test_anyone_else_cannot_claim_https(proxied: Flask, address: str) -> None:
    response = peer(proxied, address).get("/sspr/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers["Set-Cookie"]


def tries(client: FlaskClient, forwarded_for: str) -> list[int]:
    """POST three times from one claimed client address; return the statuses."""
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return [post(client, "reset/start", {"loginId": "nobody"})[0] for _ in range(3)]


def test_rate_limits_count_the_address_a_trusted_proxy_reports(proxied: Flask) -> None:
    client = peer(proxied, "10.0.0.1")
    assert tries(client, "203.0.113.1") == [200, 200, 429]
    assert tries(client, "203.0.113.2") == [200, 200, 429]


def test_rate_limits_ignore_x_forwarded_for_from_anyone_else(proxied: Flask) -> None:
    client = peer(proxied, "10.0.0.2")
    assert tries(client, "203.0.113.1") == [200, 200, 429]
    assert tries(client, "203.0.113.2") == [429, 429, 429]


def refused(tmp_path: Path, toml: str) -> str:
    """Run `mims serve` with this config; assert one error line and exit 1; return the line."""
    (tmp_path / "mims.toml").write_text(toml)
    env = {
        "HOME": str(tmp_path),
        "MIMS_CONFIG": str(tmp_path / "mims.toml"),
        "MIMS_DATA_DIR": str(tmp_path / "d"),
    }
    result = mims("serve", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert not (tmp_path / "d").exists()  # nothing started
    return result.stderr.strip()


def test_a_missing_certificate_is_refused(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    line = refused(tmp_path, https_toml(tmp_path / "nope.pem", certs.key))
    assert line == f"Error: http.tls_cert: {tmp_path / 'nope.pem'} does not exist"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_is_refused(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    certs.key.chmod(0)
    line = refused(tmp_path, https_toml(certs.cert, certs.key))
    assert line == f"Error: http.tls_key: {certs.key} cannot be read (permission denied)"


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    ours = make_certificates(tmp_path)
    (tmp_path / "other").mkdir()
    other = make_certificates(tmp_path / "other")
    line = refused(tmp_path, https_toml(ours.cert, other.key))
    assert line == (
        f"Error: http.tls_key: {other.key} is not the key of the certificate {ours.cert}"
    )


def test_a_file_that_is_not_a_certificate_is_refused(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    line = refused(tmp_path, https_toml(certs.key, certs.key))
    assert line == f"Error: http.tls_cert: {certs.key} is not a PEM certificate"


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, days=-1)
    line = refused(tmp_path, https_toml(certs.cert, certs.key))
    assert line.startswith(f"Error: http.tls_cert: {certs.cert} expired on ")


def test_a_plain_http_portal_url_off_loopback_is_refused(tmp_path: Path) -> None:
    line = refused(tmp_path, '[sspr]\nportal_url = "http://login.school.example/sspr/"\n')
    assert line == (
        "Error: config: sspr.portal_url: 'http://login.school.example/sspr/' must be an "
        "https:// URL (http:// only on a loopback address such as 127.0.0.1)"
    )
