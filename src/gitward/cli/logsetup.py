"""The log of ``gitward run``: one line per record on stderr, as JSON or for a console.

``json``: one object per line with ``time`` (UTC, ISO 8601 with milliseconds), ``level`` (``debug``,
``info``, ``warning``, ``error``, ``critical``), ``logger``, ``message``, then the record's structured
fields (``core/logfields.py``: ``app``, ``step``, ``reason``, ...) as keys of their own, and
``exception`` when the record carries one. A field named like one of those keys is written with a
trailing underscore (``message_``), so it never hides the line's own.

``console``: ``TIME LEVEL LOGGER: MESSAGE key=value ...``; a value with spaces, quotes or ``=`` is
quoted as a JSON string.

Both pass every piece of text through ``redact_text``: a URL credential that reaches a log message by
any route is masked there. Everything logs through the root logger, uvicorn included (the API server
leaves logging configuration to the process).

Deliberately not here: what is logged (each package logs its own lines).
"""

from __future__ import annotations

import datetime
import enum
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from gitward.core.logfields import fields_of
from gitward.core.redact import redact_text


class LogFormat(enum.StrEnum):
    CONSOLE = "console"
    JSON = "json"


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_BASE_KEYS = ("time", "level", "logger", "message", "exception")


def _plain(value: Any) -> Any:
    """A field value as JSON can hold it: scalars stay, paths and other objects become text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return redact_text(str(value))


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key, value in fields_of(record).items():
            line[f"{key}_" if key in _BASE_KEYS else key] = _plain(value)
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact_text(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def _console_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(_plain(value), ensure_ascii=False, default=str)
    if text == "" or any(c.isspace() or c in "\"'=" for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class ConsoleFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE key=value ...``, credentials masked in the whole line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = fields_of(record)
        if extras:
            pairs = " ".join(f"{key}={_console_value(value)}" for key, value in extras.items())
            head, sep, rest = text.partition("\n")  # the fields go on the message line, not after a traceback
            text = f"{head} {pairs}{sep}{rest}"
        return redact_text(text)


def configure_logging(
    fmt: LogFormat = LogFormat.CONSOLE, level: LogLevel = LogLevel.INFO, *, stream: TextIO | None = None
) -> None:
    """Route every logger to one handler on ``stream`` (default stderr), replacing any set before."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else ConsoleFormatter())
    handler.setLevel(level.upper())  # also for loggers that set their own level (uvicorn's)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
