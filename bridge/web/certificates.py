"""Check ``mims serve``'s certificate and key before gunicorn starts.

gunicorn would only fail in each worker, with an ssl module error; the shared check
(``bridge.core.certificates``) turns a missing or unreadable file, a file that is not PEM, an
expired certificate or a key that is not the certificate's into one line naming the file.
"""

from __future__ import annotations

from bridge.core.certificates import Settings, check_files

_SETTINGS = Settings(cert="http.tls_cert", key="http.tls_key")


def check_certificate(cert_file: str, key_file: str) -> None:
    """Raise ConfigError unless the files hold a current certificate and its private key."""
    check_files(cert_file, key_file, "", _SETTINGS)
