"""How the ``mims`` command reports an error: one line on stderr and an exit code by kind.

``EXIT_CODES`` is the one mapping from a domain error to an exit code, found by the nearest
class in the error's ancestry. A refusal the person can act on exits 1 with the error's own
words; an unreachable directory exits 69 (EX_UNAVAILABLE: try again later); anything
internal exits 70 (EX_SOFTWARE) with no driver text, pointing at MIMS_DEBUG for the traceback.
Click's own usage errors keep their exit code 2.
"""

from __future__ import annotations

import os

import click

from bridge.errors import (
    AlreadyExists,
    BridgeError,
    ConfigError,
    DirectoryUnavailable,
    Forbidden,
    InvalidValue,
    Locked,
    NotFound,
    PreconditionFailed,
    SlapdError,
)

REFUSED = 1
UNAVAILABLE = os.EX_UNAVAILABLE if hasattr(os, "EX_UNAVAILABLE") else 69
INTERNAL = os.EX_SOFTWARE if hasattr(os, "EX_SOFTWARE") else 70
INTERNAL_WORDS = "something went wrong inside mims; run it again with MIMS_DEBUG=1 to see where"

EXIT_CODES: dict[type[BaseException], int] = {
    InvalidValue: REFUSED,
    NotFound: REFUSED,
    Forbidden: REFUSED,
    AlreadyExists: REFUSED,
    PreconditionFailed: REFUSED,
    Locked: REFUSED,
    ConfigError: REFUSED,
    SlapdError: REFUSED,
    DirectoryUnavailable: UNAVAILABLE,
    BridgeError: INTERNAL,
    Exception: INTERNAL,
}


def report(error: Exception) -> int:
    """Print an error as one ``Error: <words>`` line on stderr; return its exit code."""
    code = next(EXIT_CODES[kind] for kind in type(error).__mro__ if kind in EXIT_CODES)
    click.echo(f"Error: {INTERNAL_WORDS if code == INTERNAL else error}", err=True)
    return code
