"""Check a server's certificate, key and CA files before a server is started with them.

slapd and gunicorn would only fail later (slapd stops with a GnuTLS code, gunicorn fails in
each worker); here a missing or unreadable file, a file that is not PEM, an expired
certificate or CA, a key that is not the certificate's, or a certificate its CA did not sign
becomes one line naming the setting and the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from bridge.errors import ConfigError

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Settings:
    """The names of the settings that give the files, so an error names what to fix."""

    cert: str
    key: str
    ca: str = ""


def check_files(cert_file: str, key_file: str, ca_file: str, names: Settings) -> None:
    """Raise ConfigError unless the files hold a current certificate, its key and its CA."""
    chain = _certificates(names.cert, cert_file)
    certificate = chain[0]
    key_data = _read(names.key, key_file)
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise ConfigError(
            f"{names.key}: {key_file} is encrypted; give an unencrypted key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{names.key}: {key_file} is not a PEM private key") from None
    if key.public_key().public_bytes(*_SPKI) != certificate.public_key().public_bytes(*_SPKI):
        raise ConfigError(f"{names.key}: {key_file} is not the key of the certificate {cert_file}")
    _check_dates(names.cert, cert_file, certificate)
    if ca_file:
        authorities = _certificates(names.ca, ca_file)
        for ca in authorities:
            _check_dates(names.ca, ca_file, ca)
        if not _signed_by(chain, authorities):
            raise ConfigError(
                f"{names.ca}: {ca_file} did not sign the certificate {cert_file} "
                f"(issued by {certificate.issuer.rfc4514_string()})"
            )


def _certificates(setting: str, path: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(_read(setting, path))
    except ValueError:
        raise ConfigError(f"{setting}: {path} is not a PEM certificate") from None


def _check_dates(setting: str, path: str, certificate: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if certificate.not_valid_after_utc <= now:
        raise ConfigError(
            f"{setting}: {path} expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    if certificate.not_valid_before_utc > now:
        raise ConfigError(
            f"{setting}: {path} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}"
        )


def _signed_by(chain: list[x509.Certificate], authorities: list[x509.Certificate]) -> bool:
    """Return whether a CA certificate issued the certificate or an intermediate after it."""
    for certificate in chain:
        for ca in authorities:
            try:
                certificate.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
    return False


def _read(setting: str, path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{setting}: {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{setting}: {path} is a folder, not a file") from None
    except PermissionError:
        raise ConfigError(f"{setting}: {path} cannot be read (permission denied)") from None
    except OSError as error:
        raise ConfigError(f"{setting}: {path} cannot be read ({error.strerror})") from None
