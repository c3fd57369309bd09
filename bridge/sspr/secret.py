"""The key that signs portal sessions, reset tickets and reset tokens."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bridge.config import Config
from bridge.errors import ConfigError

SECRET_FILE = "portal.secret"


def portal_secret(config: Config) -> str:
    """Return ``[sspr] secret_key``; in managed mode, the data folder's own (made once)."""
    if config.sspr.secret_key:
        return config.sspr.secret_key
    if not config.directory.managed:
        raise ConfigError(
            "config: sspr.secret_key: set MIMS_SECRET_KEY (32 characters or more, the same"
            " on every bridge process) to serve the portal with an external directory"
        )
    return load_or_create(Path(config.slapd.data_dir) / SECRET_FILE)


def load_or_create(path: Path) -> str:
    """Read the secret at path, or write a new one there (mode 0600) if there is none.

    Several gunicorn workers may start at once: the new secret is written to a private
    temporary file and linked into place, so every worker reads the same complete value.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker won the race: use theirs
        finally:
            temporary.unlink()
    value = path.read_text().strip()
    if len(value) < 32:
        raise ConfigError(f"{path} holds no usable secret: delete it to make a new one")
    return value
