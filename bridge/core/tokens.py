"""API bearer tokens: made here, stored only as a hash, compared in constant time.

A token is ``secrets.token_urlsafe(32)``: 256 bits from the OS's CSPRNG. Only its SHA-256 is
stored. A slow password hash (Argon2, bcrypt) exists to make guessing a *low-entropy* secret
expensive; nobody can enumerate 2**256 candidates however fast the hash is, and a preimage of
SHA-256 is out of reach, so a fast hash loses nothing here and lets every request be checked
in microseconds. The stored form names its algorithm (``sha256:<hex>``) so it can change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Scope = Literal["scim:read", "scim:write"]
SCOPES: tuple[Scope, ...] = ("scim:read", "scim:write")
TOKEN_BYTES = 32  # 256 bits
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class InvalidTokenName(ValueError):
    """A token name that is not a short lowercase label."""


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a stored token (never the token itself)."""

    name: str
    scopes: tuple[Scope, ...]
    description: str | None = None
    created: datetime | None = None


def check_name(name: str) -> str:
    """Return the name if it is a short lowercase label such as ``entra-prod``."""
    if not _NAME.match(name):
        raise InvalidTokenName(
            f"token name {name!r} must be 1 to 64 lowercase letters, digits, '.', '_' or '-'"
        )
    return name


def new_token() -> str:
    """Return a fresh random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Return the stored form of a token: ``sha256:<hex digest>``."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def matches(token: str, stored: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(token_hash(token).encode(), stored.encode())


def allows(scopes: tuple[str, ...], wanted: Scope) -> bool:
    """Return whether the scopes allow ``wanted``; write implies read."""
    return wanted in scopes or (wanted == "scim:read" and "scim:write" in scopes)
