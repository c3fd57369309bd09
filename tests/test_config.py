"""Configuration: defaults, a file laid over them, MIMS_* variables, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError
from tests.support.cli import mims


def load(tmp_path: Path, toml: str | None = None, **env: str):
    path = None
    if toml is not None:
        path = tmp_path / "site.toml"
        path.write_text(toml)
    return load_config(path, env={"HOME": str(tmp_path)} | env)


def test_defaults_follow_the_seeds(tmp_path: Path) -> None:
    config = load(tmp_path)
    assert config.naming.domains == {
        "student": "students.edu.sg",
        "staff": "schools.gov.sg",
        "hq": "hq.moe.gov.sg",
    }
    assert {"bin", "binte", "bte", "s/o", "d/o"} <= set(config.naming.connector_words)
    assert config.naming.group_domain == "groups.schools.gov.sg"
    assert config.policies["mims"].min_length == 12
    assert (config.policies["icon"].min_length, config.policies["icon"].max_length) == (8, 24)
    assert config.policies["icon"].history == 3
    assert [q.id for q in config.sspr.questions] == [
        "mother_maiden_name",
        "favourite_colour",
        "favourite_city",
    ]
    assert config.sspr.answers_required == 3
    assert config.directory.managed
    assert config.slapd.data_dir == tmp_path / ".local/share/mims-bridge"


def test_xdg_data_home_sets_the_default_data_folder(tmp_path: Path) -> None:
    config = load(tmp_path, XDG_DATA_HOME=str(tmp_path / "xdg"))
    assert config.slapd.data_dir == tmp_path / "xdg" / "mims-bridge"


def test_a_file_changes_only_the_keys_it_names(tmp_path: Path) -> None:
    config = load(
        tmp_path, '[http]\nport = 9000\n[naming.domains]\nstudent = "pupils.example.org"\n'
    )
    assert config.http.port == 9000
    assert config.http.host == "127.0.0.1"
    assert config.naming.domains["student"] == "pupils.example.org"
    assert config.naming.domains["staff"] == "schools.gov.sg"


def test_mims_config_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text("[slapd]\nport = 2389\n")
    config = load_config(env={"HOME": str(tmp_path), "MIMS_CONFIG": str(tmp_path / "x.toml")})
    assert config.slapd.port == 2389


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "[slapd]\nport = 2389\n",
        MIMS_LDAP_PORT="3389",
        MIMS_DATA_DIR=str(tmp_path / "d"),
        MIMS_LDAP_URL="ldaps://one:636 ldaps://two:636",
        MIMS_LDAP_BIND_DN="cn=bridge,dc=x",
        MIMS_LDAP_PASSWORD="s3cret",
    )
    assert config.slapd.port == 3389
    assert config.slapd.data_dir == tmp_path / "d"
    assert config.directory.urls == ("ldaps://one:636", "ldaps://two:636")
    assert not config.directory.managed
    assert config.directory.password == "s3cret"
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        (None, {"MIMS_LDAP_PORT": "abc"}, "MIMS_LDAP_PORT: Input should be a valid integer"),
        (
            None,
            {"MIMS_HTTP_PORT": "70000"},
            "MIMS_HTTP_PORT: Input should be less than or equal to 65535",
        ),
        (None, {"MIMS_LDAP_URL": "http://x"}, "directory.urls: 'http://x' is not an ldap://"),
        (None, {"MIMS_LDAP_URL": "ldaps://x"}, "directory.bind_dn: required when urls"),
        (
            "[directory]\nbind_dn = 'cn=x'\n",
            {"MIMS_LDAP_URL": "ldaps://one ldap://two"},
            "directory.urls: 'ldap://two' would send the bridge's password in clear text",
        ),
        (None, {"MIMS_LDAP_SUFFIX": "mims"}, "directory.suffix: 'mims' is not a DN"),
        (
            "[directory]\nsufix = 'dc=x'\n",
            {},
            "unknown key 'directory.sufix'; allowed: bind_dn, ca_file, connect_timeout",
        ),
        ("[directory]\ntls = 'maybe'\n", {}, "directory.tls: Input should be '', 'ldaps'"),
        (
            "[directory]\ntls = 'off'\nstarttls = true\n",
            {},
            "directory.starttls: true contradicts tls = 'off'",
        ),
        (
            "[directory]\ntls = 'ldaps'\nbind_dn = 'cn=x'\n",
            {"MIMS_LDAP_URL": "ldaps://one ldap://two"},
            "directory.tls: 'ldaps' but 'ldap://two' is not an ldaps:// URL",
        ),
        (
            "[directory]\nca_file = '/nowhere/ca.pem'\n",
            {},
            "directory.ca_file: '/nowhere/ca.pem' is not a file",
        ),
        (None, {"MIMS_LDAPS_PORT": "1389"}, "slapd.ldaps_port: 1389 is also the ldap:// port"),
        (
            "[failover]\nautomatic_after = 5.0\n",
            {},
            "failover.automatic_after: must be longer than heartbeat_seconds",
        ),
        ("[slapd]\nlisten = []\n", {}, "slapd.listen: give at least one address"),
        (
            "[slapd]\nlisten = ['10.0.0.5 10.0.0.6']\n",
            {},
            "slapd.listen: '10.0.0.5 10.0.0.6' is not an IP address or host name",
        ),
        (
            "[slapd]\ntls_cert = '/etc/ssl/ldap.pem'\n",
            {},
            "slapd.tls_cert, tls_key: give both (your certificate) or neither",
        ),
        ("[slapd]\ntls_ca = '/etc/ssl/ca.pem'\n", {}, "slapd.tls_ca: give it with tls_cert"),
        (
            "[http]\nworkers = 0\n",
            {},
            "http.workers: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            "[naming.domains]\nstudent = 'Not A Domain'\n",
            {},
            "naming.domains.student: 'Not A Domain'",
        ),
        (
            "[naming]\ngroup_domain = 'Groups Here'\n",
            {},
            "naming.group_domain: 'Groups Here' is not a lowercase DNS domain",
        ),
        (
            "[naming]\ngroup_domain = 'students.edu.sg'\n",
            {},
            "naming.group_domain: 'students.edu.sg' is also a login-ID domain",
        ),
        (
            "[passwords]\ndefault_policy = 'nope'\n",
            {},
            "passwords.default_policy: unknown policy 'nope'",
        ),
        (
            "[passwords]\nrules = [{policy = 'x', role = 'student'}]\n",
            {},
            "passwords.rules[0].policy: unknown policy 'x'; configured: icon, mims",
        ),
        (
            "[passwords]\nrules = [{policy = 'icon', role = 'parent'}]\n",
            {},
            "passwords.rules.0.role: Input should be 'student', 'staff' or 'hq'",
        ),
        (
            "[policies.weak]\nmin_length = 10\nmax_length = 5\n",
            {},
            "policies.weak.max_length: must be",
        ),
        ("[sspr]\nanswers_required = 4\n", {}, "sspr.questions: 4 answers are required but only 3"),
        ("[slapd]\nno_sync = 'maybe'\n", {}, "slapd.no_sync: Input should be a valid boolean"),
        (
            "[posix]\nuid_number_min = 200000\nuid_number_max = 200000\n",
            {},
            "posix.uid_number_min (200000) must be below uid_number_max (200000)",
        ),
        (
            "[posix]\ngid_number_min = 4000000\n",
            {},
            "posix.uid_number_min-uid_number_max (100000-4999999) overlaps gid_number_min",
        ),
        (
            "[posix]\nuid_number_min = 10\n",
            {},
            "posix.uid_number_min: Input should be greater than or equal to 1000",
        ),
        (
            "[posix]\nhome_directory = 'home/{uid}'\n",
            {},
            "posix.home_directory: 'home/{uid}' must be an absolute path with {uid}",
        ),
        (
            "[posix.login_shells]\nstudent = 'bash'\n",
            {},
            "posix.login_shells.student: 'bash' is not an absolute path",
        ),
        (
            "[posix.login_shells]\nparent = '/bin/sh'\n",
            {},
            "posix.login_shells.parent",
        ),
    ],
)
def test_a_bad_value_names_its_key_and_what_is_allowed(
    tmp_path: Path, toml: str | None, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml, **env)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_password_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[directory]\npassword = 12345\n")
    assert "directory.password" in str(caught.value)
    assert "12345" not in str(caught.value)


def test_a_missing_or_broken_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})
    (tmp_path / "bad.toml").write_text("[http\nport = 1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path / "bad.toml", env={})


@pytest.mark.parametrize(
    "url",
    [
        "https://login.school.example/sspr/",
        "http://127.0.0.1:8080/sspr/",
        "http://localhost/sspr/",
        "http://[::1]:8080/sspr/",
    ],
)
def test_portal_url_is_https_or_loopback(tmp_path: Path, url: str) -> None:
    assert load(tmp_path, f'[sspr]\nportal_url = "{url}"\n').sspr.portal_url == url


@pytest.mark.parametrize(
    "url", ["http://login.school.example/sspr/", "http://10.0.0.5/sspr/", "login.example", ""]
)
def test_portal_url_refuses_plain_http_off_loopback(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f'[sspr]\nportal_url = "{url}"\n')
    assert str(error.value) == (
        f"config: sspr.portal_url: {url!r} must be an https:// URL "
        "(http:// only on a loopback address such as 127.0.0.1)"
    )


def test_http_tls_and_trusted_proxies(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[http]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n'
        'trusted_proxies = ["10.0.0.5", "192.168.0.0/16", "::1"]\n',
    )
    assert config.http.https
    assert [str(n) for n in config.http.proxy_networks] == [
        "10.0.0.5/32",
        "192.168.0.0/16",
        "::1/128",
    ]
    assert not load(tmp_path).http.https
    assert load(tmp_path).http.trusted_proxies == ()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'tls_cert = "c.pem"',
            "config: http.tls_cert, tls_key: give both (HTTPS) or neither (plain HTTP)",
        ),
        (
            'trusted_proxies = ["10.0.0.5/8"]',
            "config: http.trusted_proxies: '10.0.0.5/8' is not an IP address or network "
            "such as '10.0.0.5' or '10.0.0.0/24'",
        ),
        (
            'trusted_proxies = ["proxy.local"]',
            "config: http.trusted_proxies: 'proxy.local' is not an IP address or network "
            "such as '10.0.0.5' or '10.0.0.0/24'",
        ),
    ],
)
def test_http_tls_and_proxies_refused(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f"[http]\n{toml}\n")
    assert str(error.value) == message


EXTERNAL = {"MIMS_LDAP_URL": "ldap://ldap1:389", "MIMS_LDAP_BIND_DN": "cn=bridge,dc=x"}


def test_plain_ldap_needs_tls_off_and_then_every_command_warns(tmp_path: Path) -> None:
    """An ldap:// URL without TLS is accepted only when written out, and never quietly."""
    starttls = load(tmp_path, "[directory]\ntls = 'starttls'\n", **EXTERNAL)
    assert starttls.directory.cleartext_urls == ()
    config = load(tmp_path, "[directory]\ntls = 'off'\n", **EXTERNAL)
    assert config.directory.cleartext_urls == ("ldap://ldap1:389",)
    config_file = tmp_path / "plain.toml"
    config_file.write_text("[directory]\ntls = 'off'\n")
    env = EXTERNAL | {"HOME": str(tmp_path)}
    result = mims("--config", str(config_file), "login-id", "Mary Tan", env=env)
    assert result.returncode == 0, result.stderr
    assert 'Warning: tls = "off": ldap://ldap1:389 carries' in result.stderr
    assert mims("login-id", "Mary Tan", env=env).stderr.startswith("Error: config: directory.urls:")
