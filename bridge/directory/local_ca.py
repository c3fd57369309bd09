"""The data folder's own certificate authority, and the server certificate it signs.

So that TLS is on without an admin buying or requesting anything, a data folder gets a CA
(``tls/ca.pem``, its key ``tls/ca.key``) and a server certificate (``tls/server.pem``,
``tls/server.key``) for the names slapd listens on. Clients trust ``tls/ca.pem``. At every
start the server certificate is re-issued from the same CA when it nears its end or lacks a
name it must carry, so clients that trust the CA never notice. Keys are written 0600.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)  # the longest browsers accept, should HTTPS use it too
RENEW_BEFORE = timedelta(days=30)
_WILDCARDS = ("0.0.0.0", "::")  # listen on every address: no name of their own
_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class TlsFiles:
    """The certificate a server presents, its key, and the CA clients should trust."""

    cert: Path
    key: Path
    ca: Path | None


def server_names(listen: Iterable[str]) -> tuple[str, ...]:
    """Return the names a server certificate carries.

    They are localhost, 127.0.0.1, this host's name and every address or name slapd listens
    on (but not a wildcard such as 0.0.0.0).
    """
    names = ["localhost", "127.0.0.1", socket.gethostname()]
    names += [host.strip("[]") for host in listen if host.strip("[]") not in _WILDCARDS]
    return tuple(dict.fromkeys(name.lower() for name in names if name))


def ensure(
    folder: Path, names: tuple[str, ...], now: datetime | None = None, stem: str = "server"
) -> TlsFiles:
    """Make the CA and server certificate in ``folder`` if missing; renew what needs it.

    A CA that is missing, has lost its key or nears its end is made anew (clients then need
    the new ``ca.pem``); a server certificate is re-issued from the CA when it was not signed
    by it, nears its end, or lacks one of ``names``. ``stem`` names its files: ``server``
    (slapd's) or ``http`` (``mims serve --https``).
    """
    now = now or datetime.now(UTC)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_file = folder / "ca.pem"
    files = TlsFiles(cert=folder / f"{stem}.pem", key=folder / f"{stem}.key", ca=ca_file)
    ca = _load(ca_file, folder / "ca.key")
    if ca is None or ca[0].not_valid_after_utc - RENEW_BEFORE <= now:
        ca = _make_ca(now)
        _write(ca_file, ca[0].public_bytes(serialization.Encoding.PEM), private=False)
        _write(folder / "ca.key", _pem_key(ca[1]), private=True)
    server = _load(files.cert, files.key)
    if server is None or _needs_renewal(server[0], ca[0], names, now):
        certificate, key = _issue(ca, names, now)
        _write(files.key, _pem_key(key), private=True)
        _write(files.cert, certificate.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def issue(folder: Path, names: tuple[str, ...], lifetime: timedelta) -> None:
    """Re-issue the server certificate in ``folder`` from its CA, valid for ``lifetime``."""
    ca = _load(folder / "ca.pem", folder / "ca.key")
    if ca is None:
        raise FileNotFoundError(f"{folder} holds no CA and its key")
    now = datetime.now(UTC)
    certificate, key = _issue(ca, names, now, lifetime)
    _write(folder / "server.key", _pem_key(key), private=True)
    _write(folder / "server.pem", certificate.public_bytes(serialization.Encoding.PEM), False)


_Pair = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _needs_renewal(
    certificate: x509.Certificate, ca: x509.Certificate, names: tuple[str, ...], now: datetime
) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return True
    if certificate.not_valid_after_utc - RENEW_BEFORE <= now:
        return True
    try:
        carried = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return True
    present = {str(name.value).lower() for name in carried.value}
    return not set(names) <= present


def _make_ca(now: datetime) -> _Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mims-bridge"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"mims-bridge local CA {socket.gethostname()}"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _issue(
    ca: _Pair, names: tuple[str, ...], now: datetime, lifetime: timedelta = SERVER_LIFETIME
) -> _Pair:
    """Sign a new key's certificate for ``names``, with the extensions GnuTLS looks for."""
    ca_certificate, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + lifetime, ca_certificate.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_general(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _general(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load(cert_file: Path, key_file: Path) -> _Pair | None:
    """Return a certificate and its EC key, or None when either is missing or they differ."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if key.public_key().public_bytes(*_SPKI) != certificate.public_key().public_bytes(*_SPKI):
        return None
    return certificate, key


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write a file whole (a reader never sees half of it), a key never readable by others."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    if not private:
        partial.chmod(0o644)
    os.replace(partial, path)
