"""`mims doctor` on the test slapd: all ok, then one thing wrong at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.certificates import make_certificates
from tests.support.cli import mims
from tests.support.ports import free_port


def _doctor(slapd: ManagedSlapd, *args: str) -> tuple[int, dict[str, dict[str, str]], str]:
    """Run the doctor on the session's data folder (``args``: before the command, --config).

    Return (exit status, the checks by name, the text output).
    """
    text = mims(*args, "doctor", "--data-dir", str(slapd.layout.root))
    found = mims(*args, "doctor", "--data-dir", str(slapd.layout.root), "--json")
    body = json.loads(found.stdout)
    assert body["ok"] is (found.returncode == 0)
    assert text.returncode == found.returncode, text.stderr
    return found.returncode, {c["name"]: c for c in body["checks"]}, text.stdout


@pytest.fixture
def config_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "site.toml"
    path.write_text("")
    yield path


def test_all_ok_on_a_healthy_bridge(slapd: ManagedSlapd) -> None:
    code, checks, text = _doctor(slapd)
    assert code == 0, text
    wanted = {"config", "directory", "certificate:ldap", "certificate:ldap-ca", "secrets", "disk"}
    assert wanted <= set(checks), text
    assert {c["verdict"] for c in checks.values()} == {"ok"}, text
    assert "answered a bind and a search" in checks["directory"]["detail"]
    for line in text.splitlines():
        assert line.split()[0] == "ok"
        assert "(fix:" not in line


def test_a_certificate_near_its_end_is_a_warning(
    slapd: ManagedSlapd, tmp_path: Path, config_file: Path
) -> None:
    (tmp_path / "tls").mkdir()
    certificates = make_certificates(tmp_path / "tls", days=10)
    certificates.key.chmod(0o600)
    config_file.write_text(
        f'[http]\ntls_cert = "{certificates.cert}"\ntls_key = "{certificates.key}"\n'
    )
    code, checks, text = _doctor(slapd, "--config", str(config_file))
    assert code == 0, text  # a warning is not a failure
    assert checks["certificate:https"]["verdict"] == "warn"
    assert "expires on" in checks["certificate:https"]["detail"]
    line = next(line for line in text.splitlines() if "certificate:https" in line)
    assert line.startswith("warn") and "(fix: renew" in line


def test_a_secret_others_can_read_fails_with_the_fix(slapd: ManagedSlapd) -> None:
    secret = slapd.layout.service_secret
    secret.chmod(0o644)
    try:
        code, checks, text = _doctor(slapd)
    finally:
        secret.chmod(0o600)
    assert code == 1
    assert checks["secrets"]["verdict"] == "fail"
    assert f"{secret} is 0644" in checks["secrets"]["detail"]
    assert checks["secrets"]["fix"] == f"chmod 600 {secret}"
    line = next(line for line in text.splitlines() if line.split()[1] == "secrets")
    assert line.startswith("fail") and f"(fix: chmod 600 {secret})" in line


def test_an_unreachable_directory_fails(tmp_path: Path, config_file: Path) -> None:
    url = f"ldaps://127.0.0.1:{free_port()}"
    config_file.write_text(
        f'[directory]\nurls = ["{url}"]\nbind_dn = "cn=bridge,dc=mims,dc=example"\n'
        'password = "not-used"\nconnect_timeout = 2\n'
    )
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    result = mims("--config", str(config_file), "doctor", "--data-dir", str(data))
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stdout.splitlines() if line.split()[1] == "directory")
    assert line.startswith("fail") and url in line and "(fix:" in line
    assert "Traceback" not in result.stderr


def test_a_configuration_that_does_not_load_fails(config_file: Path) -> None:
    config_file.write_text('[log]\nformat = "xml"\n')
    result = mims("--config", str(config_file), "doctor")
    assert result.returncode == 1
    assert result.stdout.startswith("fail  config")
    assert "log.format" in result.stdout
