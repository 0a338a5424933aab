"""Structured fields on a log line: ``log.info("operation finished", extra=fields(app=..., phase=...))``.

The fields travel on the log record under one attribute (``FIELDS_ATTR``), not as attributes of their
own, so any name is allowed -- ``message``, ``name`` or ``args`` would collide with the record's own
attributes and make ``logging`` raise. ``gitward run``'s formatters (``cli/logsetup.py``) write them as
keys of the JSON line or as ``key=value`` after the console message; a field whose value is ``None``
is left out.

Deliberately not here: configuring handlers or formats (the process entry point does that).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

FIELDS_ATTR = "gitward_fields"


def fields(**values: Any) -> dict[str, Any]:
    """The ``extra`` mapping that carries ``values`` as the line's structured fields."""
    return {FIELDS_ATTR: {key: value for key, value in values.items() if value is not None}}


def fields_of(record: logging.LogRecord) -> Mapping[str, Any]:
    """The structured fields a record carries (empty when it was logged without ``fields``)."""
    found = getattr(record, FIELDS_ATTR, None)
    return found if isinstance(found, Mapping) else {}
