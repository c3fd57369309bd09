"""Failed tries at a secret, marked on the request for the shared per-address limit.

The portal and the console count wrong passwords (and wrong answer sets) from one client
address together, under ``[sspr] address_failures``: a view marks the request as a failed
attempt, and the limit (flask-limiter's ``deduct_when``) counts only marked requests. The
limit itself is made once, by the portal, and kept in ``app.extensions[FAILURES]``.
"""

from __future__ import annotations

from flask import Response, g

FAILURES = "mims.failures"
_FAILED = "mims_failed_attempt"


def mark_failed() -> None:
    """Mark this request as a failed attempt at a secret."""
    setattr(g, _FAILED, True)


def failed(_: Response) -> bool:
    """Tell flask-limiter whether this request tried a wrong secret (``deduct_when``)."""
    return bool(g.get(_FAILED, False))
