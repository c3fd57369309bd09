"""TLS: StartTLS and ldaps, certificates checked against ``ca_file``, host names included.

A test CA and a server certificate for 127.0.0.1 are made with ``cryptography``; an extra
managed slapd serves them as a bring-your-own certificate. Both libraries are checked, since
both dial.
"""

from __future__ import annotations

import datetime
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.directory import lookup, slapd_config
from bridge.directory.client import LdapClient
from bridge.directory.local_ca import TlsFiles
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd, tool
from bridge.errors import DirectoryUnavailable
from tests.support.certificates import Certificates, make_certificates
from tests.support.directory import SUFFIX, Settings, make_config
from tests.support.ports import free_port


def read_with_ldap3(client: LdapClient) -> None:
    client.ping()


def read_with_libldap(client: LdapClient) -> None:
    lookup.entries(client, SUFFIX, "(ou=people)", ["ou"], [])


READS = [
    pytest.param(read_with_ldap3, id="ldap3"),
    pytest.param(read_with_libldap, id="python-ldap"),
]
Read = Callable[[LdapClient], None]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA and a certificate it signs for 127.0.0.1 only (no DNS name: localhost must fail)."""
    return make_certificates(tmp_path_factory.mktemp("pki"), dns_names=())


@pytest.fixture
def tls_slapd(extra_slapd: Callable[[str], ManagedSlapd], pki: Certificates) -> ManagedSlapd:
    """A managed slapd that serves the test CA's certificate (bring your own), with ldaps."""
    server = extra_slapd("tls")
    server.stop()
    server.certificate = TlsFiles(cert=pki.cert, key=pki.key, ca=pki.ca)
    server.start(free_port(), free_port())
    return server


def tcp_port(server: ManagedSlapd) -> int:
    url = server.ldap_url()
    assert url is not None
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("read", READS)
def test_starttls_with_the_ca_file_is_accepted(
    slapd: ManagedSlapd,
    tls_slapd: ManagedSlapd,
    settings_for: Settings,
    pki: Certificates,
    read: Read,
) -> None:
    url = f"ldap://127.0.0.1:{tcp_port(tls_slapd)}"
    client = LdapClient(settings_for(slapd, url, tls="starttls", ca_file=str(pki.ca)))
    read(client)
    client.close()


@pytest.mark.parametrize("read", READS)
def test_a_certificate_from_an_unknown_ca_is_refused(
    slapd: ManagedSlapd, tls_slapd: ManagedSlapd, settings_for: Settings, read: Read
) -> None:
    url = f"ldap://127.0.0.1:{tcp_port(tls_slapd)}"
    client = LdapClient(settings_for(slapd, url, tls="starttls", ca_file=""))  # system's CAs
    with pytest.raises(DirectoryUnavailable, match="StartTLS or its certificate"):
        read(client)


@pytest.mark.parametrize("read", READS)
def test_a_certificate_for_another_host_name_is_refused(
    slapd: ManagedSlapd,
    tls_slapd: ManagedSlapd,
    settings_for: Settings,
    pki: Certificates,
    read: Read,
) -> None:
    url = f"ldap://localhost:{tcp_port(tls_slapd)}"  # the certificate names 127.0.0.1 only
    client = LdapClient(settings_for(slapd, url, tls="starttls", ca_file=str(pki.ca)))
    with pytest.raises(DirectoryUnavailable, match="StartTLS or its certificate"):
        read(client)


@pytest.fixture
def plain_url(extra_slapd: Callable[[str], ManagedSlapd]) -> Iterator[str]:
    """Serve a folder on ldap:// with no TLS at all, as a directory without a certificate does.

    A managed slapd always has TLS, so its cn=config loses the TLS settings and it is run by
    hand.
    """
    server = extra_slapd("plain")
    server.stop()
    change = "dn: cn=config\nchangetype: modify\n" + "".join(
        f"delete: {name}\n-\n" for name in slapd_config.TLS_ATTRIBUTES
    )
    subprocess.run(
        [tool("slapmodify"), "-F", str(server.layout.config_dir), "-n0"],
        input=change,
        text=True,
        capture_output=True,
        check=True,
    )
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    command = [tool("slapd"), "-d", "0", "-F", str(server.layout.config_dir), "-h", f"{url}/"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=15)
        while not _listening(port) and datetime.datetime.now() < deadline:
            assert process.poll() is None, "slapd stopped while starting"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("read", READS)
def test_starttls_refused_by_a_server_without_tls_is_a_clear_directory_unavailable(
    slapd: ManagedSlapd, plain_url: str, settings_for: Settings, pki: Certificates, read: Read
) -> None:
    client = LdapClient(settings_for(slapd, plain_url, tls="starttls", ca_file=str(pki.ca)))
    with pytest.raises(DirectoryUnavailable, match="refused StartTLS"):
        read(client)


@pytest.mark.parametrize("read", READS)
def test_ldaps_with_the_ca_file_is_accepted_and_without_it_refused(
    slapd: ManagedSlapd,
    tls_slapd: ManagedSlapd,
    settings_for: Settings,
    pki: Certificates,
    read: Read,
) -> None:
    ldaps_url = tls_slapd.ldaps_url()
    assert ldaps_url is not None
    client = LdapClient(settings_for(slapd, ldaps_url, tls="", ca_file=str(pki.ca)))
    read(client)
    client.close()
    stranger = LdapClient(settings_for(slapd, ldaps_url, tls="", ca_file=""))
    with pytest.raises(DirectoryUnavailable, match="certificate was not accepted"):
        read(stranger)


def test_the_tls_settings_reach_the_client(
    tmp_path: Path, pki: Certificates, slapd: ManagedSlapd
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f'[directory]\nstarttls = true\nca_file = "{pki.ca}"\n')
    config: Config = make_config(
        tmp_path / "data",
        MIMS_CONFIG=str(site),
        MIMS_LDAP_URL="ldap://one.example ldaps://two.example",
        MIMS_LDAP_BIND_DN="cn=bridge,dc=mims,dc=example",
    )
    settings = client_settings(config)
    assert (settings.tls, settings.ca_file) == ("starttls", str(pki.ca))
    assert [settings.tls_for(url) for url in settings.urls] == ["starttls", "ldaps"]
    assert settings.tls_for(slapd.ldapi_url) == "off"  # the managed slapd's socket needs none
