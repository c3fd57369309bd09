"""The `mims` command, run as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import MIMS, mims, wait_for
from tests.support.directory import SUFFIX
from tests.support.ports import free_port


def test_every_command_has_help_with_an_example() -> None:
    for command in (
        [],
        ["serve"],
        ["password-service"],
        ["slapd"],
        ["slapd", "init"],
        ["slapd", "start"],
        ["slapd", "stop"],
        ["slapd", "status"],
        ["check"],
        ["check", "gcds"],
        ["group"],
        ["group", "addresses"],
        ["failover"],
        ["failover", "status"],
        ["failover", "promote"],
    ):
        result = mims(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Example" in result.stdout, command


def test_slapd_init_start_status_stop(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    port, ldaps_port = str(free_port()), str(free_port())
    init = mims("slapd", "init", "--data-dir", data)
    assert init.returncode == 0, init.stderr
    assert f"cn=mims-bridge,ou=services,{SUFFIX}" in init.stdout
    try:
        start = mims(
            "slapd", "start", "--data-dir", data, "--port", port, "--ldaps-port", ldaps_port
        )
        assert start.returncode == 0, start.stderr
        assert f"ldap://127.0.0.1:{port}" in start.stdout
        assert f"ldaps://127.0.0.1:{ldaps_port}" in start.stdout
        status = mims("slapd", "status", "--data-dir", data)
        assert (status.returncode, "answering" in status.stdout) == (0, True)
        search = subprocess.run(
            [
                "ldapsearch",
                "-LLL",
                "-ZZ",
                "-H",
                f"ldap://127.0.0.1:{port}",
                "-D",
                f"cn=mims-bridge,ou=services,{SUFFIX}",
                "-y",
                f"{data}/service.secret",
                "-b",
                SUFFIX,
                "-s",
                "one",
                "dn",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"LDAPTLS_CACERT": f"{data}/tls/ca.pem"},
        )
        assert f"dn: ou=people,{SUFFIX}" in search.stdout
    finally:
        stop = mims("slapd", "stop", "--data-dir", data)
    assert (stop.returncode, stop.stdout.strip()) == (0, "slapd stopped")
    status = mims("slapd", "status", "--data-dir", data)
    assert (status.returncode, status.stdout.strip()) == (1, "slapd is not running")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["slapd", "start"], {}, "holds no directory yet: run `mims slapd init"),
        (
            ["slapd", "start"],
            {"MIMS_LDAP_PORT": "nope"},
            "MIMS_LDAP_PORT: Input should be a valid integer",
        ),
        (
            ["--config", "/no/such.toml", "slapd", "status"],
            {},
            "config file /no/such.toml does not exist",
        ),
    ],
)
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = mims(*args, env={"MIMS_DATA_DIR": str(tmp_path / "d"), "HOME": str(tmp_path)} | env)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_start_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert mims("slapd", "init", "--data-dir", data).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = mims(
            "slapd", "start", "--data-dir", data, "--port", str(port), "--ldaps-port", "1"
        )
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"Error: port {port} on 127.0.0.1 is in use by another program; "
        "choose another with --port"
    )


def test_serve_starts_its_own_slapd_and_stops_it_on_exit(tmp_path: Path) -> None:
    data = tmp_path / "d"
    http_port, ldap_port, ldaps_port = free_port(), free_port(), free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(tmp_path)
    }
    process = subprocess.Popen(
        [
            *MIMS,
            "serve",
            "--data-dir",
            str(data),
            "--port",
            str(http_port),
            "--ldap-port",
            str(ldap_port),
            "--ldaps-port",
            str(ldaps_port),
            "--password-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    banner: list[str] = []
    try:
        assert process.stderr is not None
        while not banner or not banner[-1].startswith("try"):
            banner.append(process.stderr.readline())
            assert banner[-1], f"mims serve printed no ldapsearch line: {banner}"
        assert wait_for(f"http://127.0.0.1:{http_port}/readyz", timeout=30) == 200
        assert ManagedSlapd(data, SUFFIX).status().answering
        # The banner's line works as printed: over ldaps, trusting the data folder's CA.
        tried = subprocess.run(
            banner[-1].removeprefix("try").strip(),
            shell=True,
            capture_output=True,
            text=True,
            check=False,
            env=environment,
        )
        assert (tried.returncode, f"dn: {SUFFIX}" in tried.stdout) == (0, True), tried.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert f"ldaps://127.0.0.1:{ldaps_port}, StartTLS on ldap://127.0.0.1:{ldap_port}" in "".join(
        banner
    )
    assert (
        f"LDAPTLS_CACERT={data}/tls/ca.pem ldapsearch -H ldaps://127.0.0.1:{ldaps_port}"
        in (banner[-1])
    )
    assert "slapd stopped" in stderr
    assert not ManagedSlapd(data, SUFFIX).status().running
