"""Turning API server answers into ``ClusterError`` and deciding which failures are worth a retry.

The API server explains refusals in a ``Status`` object; its ``message`` is what a user needs to see
("ConfigMap "x" is invalid: ..."), so it is kept verbatim, prefixed with what was attempted. Secret
values must never reach a message, so any value of the Secret being sent is masked out of it.

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


def status_message(body: bytes) -> tuple[str, str]:
    """(message, reason) of a ``Status`` body; empty strings when the body is not a Status."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("message") or ""), str(data.get("reason") or "")


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
    """A ``ClusterError`` for an HTTP error answer, carrying the API's own message."""
    message, reason = status_message(body)
    if not message:
        message = f"HTTP {status}"
    text = redact(f"{what}: {message}", secrets)
    return ClusterError(text, status=status, reason=reason or None)
