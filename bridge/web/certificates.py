"""Check ``mims serve``'s certificate and key before gunicorn starts.

gunicorn would only fail in each worker, with an ssl module error; here a missing or
unreadable file, a file that is not PEM, an expired certificate or a key that is not the
certificate's becomes one line naming the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from bridge.errors import ConfigError

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_certificate(cert_file: str, key_file: str) -> None:
    """Raise ConfigError unless the files hold a current certificate and its private key."""
    cert_data = _read("http.tls_cert", cert_file)
    key_data = _read("http.tls_key", key_file)
    try:
        certificate = x509.load_pem_x509_certificates(cert_data)[0]
    except ValueError:
        raise ConfigError(f"http.tls_cert: {cert_file} is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise ConfigError(
            f"http.tls_key: {key_file} is encrypted; give an unencrypted key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"http.tls_key: {key_file} is not a PEM private key") from None
    if key.public_key().public_bytes(*_SPKI) != certificate.public_key().public_bytes(*_SPKI):
        raise ConfigError(f"http.tls_key: {key_file} is not the key of the certificate {cert_file}")
    expires = certificate.not_valid_after_utc
    if expires <= datetime.now(UTC):
        raise ConfigError(f"http.tls_cert: {cert_file} expired on {expires:%Y-%m-%d}")


def _read(key: str, path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{key}: {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{key}: {path} is a folder, not a file") from None
    except PermissionError:
        raise ConfigError(f"{key}: {path} cannot be read (permission denied)") from None
    except OSError as error:
        raise ConfigError(f"{key}: {path} cannot be read ({error.strerror})") from None
