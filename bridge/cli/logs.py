"""Log lines of the long-running commands on stderr, timestamped like gunicorn's own.

``mims serve`` (its slapd supervisor) and ``mims password-service`` write beside gunicorn's
lines, so one journal reads as one format.
"""

from __future__ import annotations

import logging

FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def log_to_stderr(logger: logging.Logger) -> None:
    """Send a logger's INFO lines and above to stderr alone; once, however often it is called."""
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
