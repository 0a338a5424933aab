"""A message on its way to one target, and the HTTP request a target makes of it.

``Message`` is what the notifier queues (built at once, so the queue holds no reference to the
engine's state); ``Request`` is what a target builds from it when it is its turn, reading its
secret files then, so a rotated secret is used by the next attempt.

Deliberately not here: the shapes of the bodies (``chat``, ``commitstatus``) and sending (``delivery``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from gitward.notify.events import AppEvent

USER_AGENT = "gitward-notifier"


@dataclass(frozen=True)
class Message:
    id: str  # one id per message and target, the same on every attempt (X-Gitward-Delivery)
    notification: str
    event: AppEvent
    text: str  # the Notification's template, filled
    link: str  # its ``link`` template, filled; "" when none


@dataclass(frozen=True)
class Request:
    url: str
    headers: Mapping[str, str]
    body: bytes


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
