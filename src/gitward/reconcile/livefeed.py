"""Status changes as a numbered feed: the source of ``GET /api/v1/stream`` and the live pages.

Why a shared ring rather than a queue per client: a status change must cost the engine the same
whether 0 or 1,000 browsers are watching. ``publish`` appends one pre-serialised event to a bounded
ring and wakes the waiting readers; it never blocks, never iterates over clients and never
serialises per client. Each reader keeps its own cursor (the id of the last event it sent), which is
its queue: it is bounded by the ring, and a reader that falls further behind than the ring holds
(a slow or stalled client) learns it lost events (``Batch.lost``) and is dropped by the stream, so a
reconnect starts from a fresh page load instead of a backlog. ``Last-Event-ID`` resumes from the
ring when the id is still in it.

Event ids are ``<epoch>-<sequence>``: the epoch changes with each process, so an id from before a
restart is recognised as lost history instead of being confused with a new event of the same number.

Deliberately not here: who may read which event (the stream asks ``authorize`` per event, in
``api/stream.py``) and HTTP.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_CAPACITY = 4096
DEFAULT_MAX_READERS = 5000


@dataclass(frozen=True)
class FeedEvent:
    seq: int
    id: str
    app: str
    project: str
    data: bytes  # the JSON payload, serialised once for every reader


@dataclass(frozen=True)
class Batch:
    events: list[FeedEvent]
    cursor: int  # sequence number of the newest event the reader has now seen
    lost: bool  # the reader's cursor fell out of the ring: events were missed


class TooManyReaders(Exception):
    """The feed serves ``max_readers`` streams already."""


class StatusFeed:
    def __init__(self, *, capacity: int = DEFAULT_CAPACITY, max_readers: int = DEFAULT_MAX_READERS) -> None:
        self.epoch = secrets.token_hex(4)
        self._ring: collections.deque[FeedEvent] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._changed = asyncio.Event()
        self.readers = 0
        self.max_readers = max_readers
        self.published = 0

    @property
    def latest(self) -> int:
        return self._seq

    def publish(self, app: str, project: str, payload: dict[str, Any]) -> FeedEvent:
        """Record one change and wake the readers; O(1), whatever the number of readers."""
        self._seq += 1
        event_id = f"{self.epoch}-{self._seq}"
        data = orjson.dumps({**payload, "id": event_id})
        event = FeedEvent(self._seq, event_id, app, project, data)
        self._ring.append(event)
        self.published += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return event

    def cursor_of(self, last_event_id: str | None) -> tuple[int, bool]:
        """(cursor, lost) for a ``Last-Event-ID``: resume after it when it is of this process and
        still in the ring; otherwise start at the newest event and report the loss."""
        if not last_event_id:
            return self._seq, False
        epoch, _, number = last_event_id.partition("-")
        if epoch != self.epoch or not number.isdigit() or int(number) > self._seq:
            return self._seq, True
        seq = int(number)
        oldest = self._ring[0].seq if self._ring else self._seq + 1
        if seq + 1 < oldest:
            return self._seq, True
        return seq, False

    def since(self, cursor: int, *, limit: int = 512) -> Batch:
        """Events after ``cursor``, oldest first, at most ``limit``."""
        if cursor >= self._seq:
            return Batch([], cursor, False)
        oldest = self._ring[0].seq if self._ring else self._seq + 1
        if cursor + 1 < oldest:
            return Batch([], self._seq, True)
        skip = cursor + 1 - oldest
        events = [self._ring[i] for i in range(skip, min(len(self._ring), skip + limit))]
        return Batch(events, events[-1].seq if events else cursor, False)

    async def wait(self, cursor: int, within: float) -> None:
        """Return when an event after ``cursor`` exists, or after ``within`` seconds."""
        if self._seq > cursor:
            return
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), within)

    @contextlib.contextmanager
    def reader(self) -> Any:
        """Count one open stream; refuses past ``max_readers`` (each costs a socket and a task)."""
        if self.readers >= self.max_readers:
            raise TooManyReaders(f"{self.readers} live streams are open already")
        self.readers += 1
        try:
            yield self
        finally:
            self.readers -= 1
