"""The portal's signing key: from config, made once in the managed data folder, or refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bridge.config import Config, load_config
from bridge.errors import ConfigError
from bridge.sspr.secret import load_or_create, portal_secret


def test_a_managed_data_folder_gets_one_private_secret(tmp_path: Path) -> None:
    path = tmp_path / "portal.secret"
    first = load_or_create(path)
    assert len(first) >= 32 and load_or_create(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["portal.secret"]


def test_the_configured_secret_wins(config: Config) -> None:
    chosen = config.with_overrides(sspr={"secret_key": "k" * 40})
    assert portal_secret(chosen) == "k" * 40


def test_an_external_directory_needs_a_secret(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "MIMS_LDAP_URL": "ldaps://127.0.0.1:1",
        "MIMS_LDAP_BIND_DN": "cn=x,dc=mims,dc=example",
    }
    with pytest.raises(ConfigError, match="MIMS_SECRET_KEY"):
        portal_secret(load_config(env=env))
    assert portal_secret(load_config(env=env | {"MIMS_SECRET_KEY": "s" * 32})) == "s" * 32


def test_a_short_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env={"HOME": str(tmp_path), "MIMS_SECRET_KEY": "tooshort"})
    assert "tooshort" not in str(error.value)
