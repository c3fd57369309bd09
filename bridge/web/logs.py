"""Log lines of every long-running mims process, set up in one place from ``[log]``.

``mims serve`` (its supervisor, gunicorn's own lines and every worker), ``mims
password-service`` and ``mims sync run`` call :func:`configure` once: one handler on the root
logger, writing to stderr, in JSON (one object per line, python-json-logger) or in text. Every
record gets the fields of the web request it was made in (``request_log``), so a JSON line
always has the same keys: ``FIELDS``. What a line may hold: docs/security.md, "Logs".
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bridge.config import LogConfig
from bridge.web import request_log

# The keys of a JSON line, in order (docs/operations.md, "Logs").
FIELDS = (
    "time",
    "level",
    "logger",
    "message",
    *request_log.FIELDS,
)
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


class RequestFields(logging.Filter):
    """Give every record the current web request's fields (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields a record does not carry yet; keep every record."""
        for name, value in request_log.fields().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonLines(JsonFormatter):
    """One JSON object per record with ``FIELDS`` (the time in UTC, ISO 8601)."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", *request_log.FIELDS],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
    ) -> None:
        """Put ``time`` first, then the rest in ``FIELDS`` order."""
        super().add_fields(log_data, record, message)
        ordered = {name: log_data.pop(name, None) for name in FIELDS}
        rest = dict(log_data)
        log_data.clear()
        log_data.update(ordered | rest)


class TextLines(logging.Formatter):
    """gunicorn's line format; a request's lines end with its id, to find them together."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, TEXT_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Return the line, with ``(request ID)`` when made in a request."""
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if not request_id:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} (request {request_id}){newline}{rest}"


class Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        """Return the current stderr."""
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def json_wanted(log: LogConfig, stream: TextIO | None = None) -> bool:
    """Return whether lines are JSON: asked for, or not asked and stderr is no terminal."""
    if log.format:
        return log.format == "json"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def handler(log: LogConfig) -> logging.Handler:
    """Return the handler every line goes through: stderr, the format, the request's fields."""
    made = Stderr()
    made.setFormatter(JsonLines() if json_wanted(log) else TextLines())
    made.addFilter(RequestFields())
    made.mims = True  # type: ignore[attr-defined]  # ours: replaced, never stacked
    return made


def configure(log: LogConfig) -> None:
    """Send every logger's lines at ``[log] level`` and above through one handler on root."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "mims", False)]:
        root.removeHandler(old)
    root.addHandler(handler(log))
    root.setLevel(log.level.upper())
