"""Turning API server answers into ``ClusterError`` and deciding which failures are worth a retry.

The API server explains refusals in a ``Status`` object. Its ``message`` can be very long (an
immutable Job template is quoted whole before "field is immutable"), so a message is summarised in the
order a person reads it: what was attempted, the HTTP status and ``reason``, then every
``details.causes[]`` entry as ``field: message``, then the ``message`` cut to fit about
``MAX_SUMMARY`` characters. The causes are never dropped; a long value quoted in one is shortened,
keeping what the server says about it ("... : field is immutable"). Secret values must never reach a
message, so any value of the Secret being sent is masked out before anything is shortened.

Retries inside the client cover short blips only (429, 5xx, dropped connections: docs/reliability.md, F2): a
few attempts with exponential backoff that honour ``Retry-After``. Longer outages surface as
``ClusterError`` and the control loop's own backoff takes over.

Deliberately not here: sending requests (``cluster.transport``) and per-object retry policy.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gitward.core.errors import ClusterError
from gitward.core.kinds import SECRET_KINDS

#: Statuses that mean "try again shortly" rather than "you asked for something wrong".
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

_MASK = "***"


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries a failed request before giving up and raising."""

    attempts: int = 4
    base_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 5.0
    max_retry_after: float = 10.0

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); the server's hint wins if given."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.base_delay * self.factor ** (attempt - 1), self.max_delay)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds; HTTP dates are not used by the API server so they count as absent."""
    if not value:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class StatusBody:
    """The parts of a ``Status`` answer a message is built from."""

    message: str = ""
    reason: str = ""
    causes: tuple[tuple[str, str], ...] = ()  # (field, message), in the server's order


def parse_status(body: bytes) -> StatusBody:
    """The message, reason and causes of a ``Status`` body; empty when the body is not a Status."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return StatusBody()
    if not isinstance(data, dict):
        return StatusBody()
    details = data.get("details")
    raw = details.get("causes") if isinstance(details, dict) else None
    causes = tuple(
        (str(c.get("field") or ""), str(c.get("message") or c.get("reason") or ""))
        for c in (raw if isinstance(raw, list) else [])
        if isinstance(c, dict)
    )
    return StatusBody(str(data.get("message") or ""), str(data.get("reason") or ""), causes)


#: Target length of a summarised message: the causes are kept whole even past it, the message is cut.
MAX_SUMMARY = 1000
#: Characters of the API's message kept however long the causes are.
MIN_MESSAGE = 160
#: A cause longer than this has the value it quotes shortened (or its middle cut out).
MAX_CAUSE = 300
#: Characters of a long quoted value kept in a cause.
VALUE_KEPT = 60
#: How a field error starts when it quotes the value (the detail follows the value after ": ").
_VALUE_PREFIXES = ("Invalid value: ", "Unsupported value: ", "Duplicate value: ", "Not found: ")
_ELLIPSIS = "…"


def short_cause(message: str) -> str:
    """``message`` of one cause, at most about ``MAX_CAUSE`` characters, its end kept: the server puts
    what is wrong after the value it quotes ("Invalid value: {...}: field is immutable")."""
    if len(message) <= MAX_CAUSE:
        return message
    for prefix in _VALUE_PREFIXES:
        if message.startswith(prefix):
            value, sep, detail = message[len(prefix) :].rpartition(": ")
            if sep and len(detail) <= MAX_CAUSE - len(prefix) - VALUE_KEPT:
                return f"{prefix}{value[:VALUE_KEPT]}{_ELLIPSIS}: {detail}"
    head = MAX_CAUSE // 3
    return f"{message[:head]} {_ELLIPSIS} {message[-(MAX_CAUSE - head) :]}"


def summarize_status(status: int, parsed: StatusBody, *, what: str = "") -> str:
    """``what: HTTP <status> <reason>: <field>: <message>; ... | <the API's message, cut to fit>``."""
    head = (f"{what}: " if what else "") + f"HTTP {status} {parsed.reason}".rstrip()
    causes = "; ".join(f"{f}: {short_cause(m)}" if f else short_cause(m) for f, m in parsed.causes)
    if causes:
        head = f"{head}: {causes}"
        if not parsed.message:
            return head
        return f"{head} | {_cut(parsed.message, max(MIN_MESSAGE, MAX_SUMMARY - len(head) - 3))}"
    if not parsed.message:
        return head
    return f"{head}: {_cut(parsed.message, max(MIN_MESSAGE, MAX_SUMMARY - len(head) - 2))}"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{_ELLIPSIS} ({len(text) - limit} more characters)"


def secret_values(obj: Mapping[str, Any] | None) -> list[str]:
    """Every value of a Secret manifest, plain and base64, so they can be masked out of messages."""
    if not obj or obj.get("kind") not in SECRET_KINDS:
        return []
    values: list[str] = []
    for field in ("data", "stringData"):
        for value in (obj.get(field) or {}).values():
            text = str(value)
            if not text:
                continue
            values.append(text)
            if field == "data":
                with contextlib.suppress(ValueError, UnicodeDecodeError):
                    values.append(base64.b64decode(text, validate=True).decode())
            else:
                values.append(base64.b64encode(text.encode()).decode())
    # Longest first so a value that contains another is masked whole.
    return sorted({v for v in values if len(v) >= 1}, key=len, reverse=True)


def redact(message: str, values: Iterable[str]) -> str:
    for value in values:
        message = message.replace(value, _MASK)
    return message


def error_from_response(status: int, body: bytes, *, what: str, secrets: Iterable[str] = ()) -> ClusterError:
    """A ``ClusterError`` for an HTTP error answer, summarised (``summarize_status``); Secret values are
    masked before anything is shortened, so no part of one survives a cut."""
    values = list(secrets)
    parsed = parse_status(body)
    parsed = StatusBody(
        redact(parsed.message, values),
        parsed.reason,
        tuple((field, redact(msg, values)) for field, msg in parsed.causes),
    )
    return ClusterError(
        summarize_status(status, parsed, what=redact(what, values)),
        status=status,
        reason=parsed.reason or None,
    )
