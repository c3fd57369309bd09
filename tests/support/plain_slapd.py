"""A plain OpenLDAP slapd, set up the way a distribution's package sets one up, not by mims.

It stands for an existing directory a school already runs: a cn=config made with ``slapadd
-n0`` from a small LDIF (the system schemas, one mdb database with its own rootDN, indexes and
access rules, a suffix entry), TLS with a test CA's certificate, on a free port and an ldapi
socket whose peer-credential identity administers cn=config. Stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bridge.directory.slapd import tool
from tests.support.certificates import Certificates
from tests.support.ports import free_port

SYSTEM_SCHEMA_DIR = Path("/etc/ldap/schema")
ADMIN_PASSWORD = "Directory-Admin-42"


@dataclass(frozen=True)
class PlainSlapd:
    """A running plain slapd: where it listens and who administers it."""

    root: Path
    suffix: str
    port: int
    pid: int
    certificates: Certificates

    @property
    def ldapi_url(self) -> str:
        """Return the URL of its unix socket (SASL EXTERNAL there is the cn=config admin)."""
        return "ldapi://" + quote(str(self.root / "ldapi"), safe="")

    @property
    def ldap_url(self) -> str:
        """Return its TCP URL, which offers StartTLS."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def admin_dn(self) -> str:
        """Return the database's rootDN (password ``ADMIN_PASSWORD``)."""
        return f"cn=admin,{self.suffix}"


def _config_ldif(root: Path, suffix: str, certificates: Certificates) -> str:
    """Return a cn=config like the one Debian's slapd package makes, plus TLS."""
    peercred = f"gidNumber={os.getgid()}+uidNumber={os.getuid()},cn=peercred,cn=external,cn=auth"
    head = f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcTLSCACertificateFile: {certificates.ca}
olcTLSCertificateFile: {certificates.cert}
olcTLSCertificateKeyFile: {certificates.key}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb.la

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
"""
    schemas = "\n".join(
        (SYSTEM_SCHEMA_DIR / f"{name}.ldif").read_text()
        for name in ("core", "cosine", "nis", "inetorgperson")
    )
    databases = f"""
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500
olcAccess: {{0}}to dn.base="" by * read
olcAccess: {{1}}to dn.base="cn=subschema" by * read

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact="{peercred}" manage by * break

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {suffix}
olcRootDN: cn=admin,{suffix}
olcRootPW: {ADMIN_PASSWORD}
olcDbDirectory: {root}/db
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: cn,uid eq
olcDbIndex: uidNumber,gidNumber eq
olcDbIndex: member,memberUid eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to attrs=shadowLastChange by self write by * read
olcAccess: {{2}}to * by * read
"""
    return head + "\n" + schemas + databases


def _suffix_ldif(suffix: str) -> str:
    """Return the suffix entry the package's installer adds (dcObject and organization)."""
    value = suffix.split(",")[0].split("=", 1)[1]
    return f"""dn: {suffix}
objectClass: top
objectClass: dcObject
objectClass: organization
o: A school
dc: {value}
"""


@contextmanager
def plain_slapd(suffix: str, certificates: Certificates) -> Iterator[PlainSlapd]:
    """Set up and run a plain slapd in a short temp folder; stop it by its PID afterwards."""
    root = Path(tempfile.mkdtemp(prefix="plain-slapd-"))  # short: the ldapi socket path
    try:
        (root / "slapd.d").mkdir()
        (root / "db").mkdir()
        _slapadd(root, ["-n0"], _config_ldif(root, suffix, certificates))
        _slapadd(root, ["-b", suffix], _suffix_ldif(suffix))
        port = free_port()
        ldapi = "ldapi://" + quote(str(root / "ldapi"), safe="")
        with (root / "slapd.log").open("wb") as log:
            process = subprocess.Popen(
                [tool("slapd"), "-d", "0", "-F", str(root / "slapd.d")]
                + ["-h", f"ldap://127.0.0.1:{port}/ {ldapi}/"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            _wait_until_listening(port, process)
            yield PlainSlapd(root, suffix, port, process.pid, certificates)
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _slapadd(root: Path, args: list[str], content: str) -> None:
    source = root / "load.ldif"
    source.write_text(content)
    command = [tool("slapadd"), "-F", str(root / "slapd.d"), *args, "-l", str(source)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    source.unlink()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the plain slapd stopped while starting"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the plain slapd did not listen within 30 s")
