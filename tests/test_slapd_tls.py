"""TLS in the managed slapd, on by default: StartTLS and ldaps with the data folder's own CA,
a bring-your-own certificate, renewal at start, and no simple bind over plain TCP.

Every check is what an admin would do: OpenLDAP's own ldapwhoami with LDAPTLS_CACERT, the
`mims slapd` command, and the certificate slapd actually presents.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from bridge.directory import local_ca, slapd_config
from bridge.directory.slapd import ManagedSlapd, tool
from tests.support.certificates import Certificates, make_certificates
from tests.support.cli import mims
from tests.support.directory import SUFFIX, tls_environment
from tests.support.ports import free_port


def whoami(
    slapd: ManagedSlapd, *args: str, ca: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ldapwhoami as the bridge's service account, trusting ``ca`` (default: slapd's)."""
    environment = tls_environment(slapd) | ({"LDAPTLS_CACERT": str(ca)} if ca else {})
    command = [
        "ldapwhoami",
        "-x",
        *args,
        "-D",
        slapd.service_dn,
        "-y",
        str(slapd.layout.service_secret),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=environment, check=False)


def url(slapd: ManagedSlapd, scheme: str) -> str:
    found = slapd.ldaps_url() if scheme == "ldaps" else slapd.ldap_url()
    assert found is not None
    return found


def served_certificate(port: int) -> x509.Certificate:
    """Return the certificate slapd presents on its ldaps port (without checking it)."""
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return x509.load_pem_x509_certificate(pem.encode())


@pytest.fixture
def folder() -> Iterator[Path]:
    """A short path (pytest's are too long for slapd's ldapi socket), removed afterwards."""
    made = Path(tempfile.mkdtemp(prefix="mims-tls-"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def fresh(folder: Path) -> Iterator[ManagedSlapd]:
    server = ManagedSlapd(folder / "d", SUFFIX, no_sync=True)
    yield server
    server.stop()


# -- the data folder's own CA -----------------------------------------------------------------


def test_starttls_and_ldaps_with_the_folders_ca_let_the_service_account_bind(
    slapd: ManagedSlapd,
) -> None:
    for args in (("-ZZ", "-H", url(slapd, "ldap")), ("-H", url(slapd, "ldaps"))):
        result = whoami(slapd, *args)
        assert (result.returncode, result.stdout.strip()) == (0, f"dn:{slapd.service_dn}"), (
            args,
            result.stderr,
        )


def test_a_simple_bind_over_plain_tcp_is_refused(slapd: ManagedSlapd) -> None:
    result = whoami(slapd, "-H", url(slapd, "ldap"))
    assert result.returncode == 13
    assert "confidentiality required" in result.stderr


def test_the_bridge_still_binds_with_its_password_over_ldapi(slapd: ManagedSlapd) -> None:
    result = whoami(slapd, "-H", slapd.ldapi_url)
    assert (result.returncode, result.stdout.strip()) == (0, f"dn:{slapd.service_dn}")


def test_a_certificate_from_another_ca_is_not_trusted(slapd: ManagedSlapd, folder: Path) -> None:
    stranger = make_certificates(folder)
    result = whoami(slapd, "-H", url(slapd, "ldaps"), ca=stranger.ca)
    assert result.returncode != 0
    assert "Can't contact LDAP server" in result.stderr


def test_keys_are_private_and_the_certificate_names_every_listen_address(folder: Path) -> None:
    server = ManagedSlapd(folder / "d", SUFFIX, listen=("127.0.0.1", "ldap.school.example"))
    server.init()
    tls = server.layout.tls_dir
    assert {path.name for path in tls.iterdir()} == {"ca.pem", "ca.key", "server.pem", "server.key"}
    assert (tls / "server.key").stat().st_mode & 0o777 == 0o600
    assert (tls / "ca.key").stat().st_mode & 0o777 == 0o600
    assert tls.stat().st_mode & 0o777 == 0o700
    certificate = x509.load_pem_x509_certificate((tls / "server.pem").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    carried = {str(name.value) for name in names}
    assert {"localhost", "127.0.0.1", "ldap.school.example"} <= carried
    assert set(local_ca.server_names(server.listen)) <= carried  # and this host's name


def test_a_certificate_near_its_end_is_renewed_from_the_same_ca_at_start(
    fresh: ManagedSlapd,
) -> None:
    fresh.init()
    tls = fresh.layout.tls_dir
    ca_before = (tls / "ca.pem").read_bytes()
    local_ca.issue(tls, local_ca.server_names(fresh.listen), timedelta(days=5))
    fresh.start(free_port(), free_port())
    served = served_certificate(int(url(fresh, "ldaps").rsplit(":", 1)[1]))
    assert served.not_valid_after_utc > datetime.now(UTC) + timedelta(days=300)
    assert (tls / "ca.pem").read_bytes() == ca_before  # clients keep trusting the same CA
    assert whoami(fresh, "-H", url(fresh, "ldaps")).returncode == 0


def test_a_folder_made_before_tls_gets_it_at_its_next_start(fresh: ManagedSlapd) -> None:
    fresh.init()
    # As an older mims-bridge left it: no tls/ folder and no TLS settings in cn=config.
    shutil.rmtree(fresh.layout.tls_dir)
    change = "dn: cn=config\nchangetype: modify\n" + "".join(
        f"delete: {name}\n-\n" for name in slapd_config.TLS_ATTRIBUTES
    )
    subprocess.run(
        [tool("slapmodify"), "-F", str(fresh.layout.config_dir), "-n0"],
        input=change,
        text=True,
        capture_output=True,
        check=True,
    )
    fresh.start(free_port(), free_port())
    assert (fresh.layout.tls_dir / "server.key").stat().st_mode & 0o777 == 0o600
    assert whoami(fresh, "-ZZ", "-H", url(fresh, "ldap")).returncode == 0
    assert "confidentiality required" in whoami(fresh, "-H", url(fresh, "ldap")).stderr


# -- bring your own certificate -----------------------------------------------------------------


def own_certificate_env(folder: Path, cert: Path, key: Path, ca: Path | None) -> dict[str, str]:
    """Return the `mims` environment of a data folder whose config names these files."""
    lines = ["[slapd]", f'tls_cert = "{cert}"', f'tls_key = "{key}"']
    lines += [f'tls_ca = "{ca}"'] if ca else []
    (folder / "mims.toml").write_text("\n".join(lines) + "\n")
    return {
        "HOME": str(folder),
        "MIMS_CONFIG": str(folder / "mims.toml"),
        "MIMS_DATA_DIR": str(folder / "d"),
        "MIMS_LDAP_PORT": str(free_port()),
        "MIMS_LDAPS_PORT": str(free_port()),
    }


def test_a_certificate_of_your_own_is_served(folder: Path) -> None:
    pki = make_certificates(folder)
    env = own_certificate_env(folder, pki.cert, pki.key, pki.ca)
    assert mims("slapd", "init", env=env).returncode == 0
    try:
        started = mims("slapd", "start", env=env)
        assert started.returncode == 0, started.stderr
        assert f"LDAPTLS_CACERT={pki.ca}" in started.stdout
        server = ManagedSlapd(folder / "d", SUFFIX)
        port = env["MIMS_LDAPS_PORT"]
        assert served_certificate(int(port)) == x509.load_pem_x509_certificate(
            pki.cert.read_bytes()
        )
        result = whoami(server, "-H", f"ldaps://127.0.0.1:{port}", ca=pki.ca)
        assert result.returncode == 0, result.stderr
        assert not (folder / "d" / "tls").exists()  # no local CA was made for nothing
    finally:
        mims("slapd", "stop", env=env)


def bad_files(folder: Path, good: Certificates) -> dict[str, tuple[Path, Path, Path | None, str]]:
    """Return broken combinations of files, each with the error line it must give."""
    other = make_certificates(folder / "other")
    expired = make_certificates(folder / "expired", days=-1)
    not_pem = folder / "not.pem"
    not_pem.write_text("hello\n")
    missing = folder / "missing.pem"
    return {
        "missing": (missing, good.key, good.ca, f"slapd.tls_cert: {missing} does not exist"),
        "not pem": (
            not_pem,
            good.key,
            good.ca,
            f"slapd.tls_cert: {not_pem} is not a PEM certificate",
        ),
        "key mismatch": (
            good.cert,
            other.key,
            good.ca,
            f"slapd.tls_key: {other.key} is not the key of the certificate {good.cert}",
        ),
        "expired": (
            expired.cert,
            expired.key,
            expired.ca,
            f"slapd.tls_cert: {expired.cert} expired on",
        ),
        "another ca": (
            good.cert,
            good.key,
            other.ca,
            f"slapd.tls_ca: {other.ca} did not sign the certificate {good.cert}",
        ),
    }


BAD = ["missing", "not pem", "key mismatch", "expired", "another ca"]


@pytest.mark.parametrize("case", BAD)
def test_bad_files_of_your_own_are_one_line_and_nothing_starts(folder: Path, case: str) -> None:
    (folder / "good").mkdir()
    (folder / "other").mkdir()
    (folder / "expired").mkdir()
    good = make_certificates(folder / "good")
    plain = own_certificate_env(folder, good.cert, good.key, good.ca)
    assert mims("slapd", "init", env=plain).returncode == 0  # made with good files
    cert, key, ca, line = bad_files(folder, good)[case]
    env = own_certificate_env(folder, cert, key, ca)
    result = mims("slapd", "start", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {line}")
    assert result.stderr.count("\n") == 1
    assert mims("slapd", "status", env=env).stdout.strip() == "slapd is not running"
