"""Status changes as a numbered feed: the source of ``GET /api/v1/stream`` and the live pages.

Why a shared ring rather than a queue per client: a status change must cost the engine the same
whether 0 or 1,000 browsers are watching. ``publish`` appends one pre-serialised event to a bounded
ring; it never blocks, never iterates over clients and never serialises per client. Readers of
every app are woken by a tick at most every ``coalesce`` seconds (a burst of changes is one wake
and one write per reader); a reader of one app (an app page) is woken only when that app changes.
Each reader keeps its own cursor (the id of the last event it sent), which is
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_CAPACITY = 4096
DEFAULT_MAX_READERS = 5000
DEFAULT_COALESCE = 0.25


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
    def __init__(
        self,
        *,
        capacity: int = DEFAULT_CAPACITY,
        max_readers: int = DEFAULT_MAX_READERS,
        coalesce: float = DEFAULT_COALESCE,
    ) -> None:
        self.epoch = secrets.token_hex(4)
        self._ring: collections.deque[FeedEvent] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._changed = asyncio.Event()  # set by the tick: at most once per ``coalesce`` seconds
        self._tick_due = False
        self._coalesce = coalesce
        self._app_waiters: dict[str, asyncio.Event] = {}  # app pages wake only for their app
        self.readers = 0
        self.closed = False
        self.max_readers = max_readers
        self.published = 0
        self._last_of_app: dict[str, int] = {}  # app -> sequence of its newest event
        self._joined: dict[tuple[int, int], bytes] = {}  # (after, upto) -> every event's frame, joined

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
        self._last_of_app[app] = self._seq
        self.published += 1
        waiter = self._app_waiters.pop(app, None)
        if waiter is not None:
            waiter.set()
        self._schedule_tick()
        return event

    def close(self) -> None:
        """End every stream (the server is stopping): readers wake now and see ``closed``."""
        self.closed = True
        for waiter in self._app_waiters.values():
            waiter.set()
        self._app_waiters.clear()
        self._tick()

    def _schedule_tick(self) -> None:
        """Wake every reader of all apps once per ``coalesce`` seconds at most, whatever the number
        of changes in between: a burst costs each reader one wake and one write."""
        if self._tick_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._tick()
            return
        self._tick_due = True
        loop.call_later(self._coalesce, self._tick)

    def _tick(self) -> None:
        self._tick_due = False
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

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

    def changed_since(self, app: str, cursor: int) -> bool:
        """Whether ``app`` has an event after ``cursor``: an app page's stream skips the ring walk."""
        return self._last_of_app.get(app, 0) > cursor

    def joined(self, batch: Batch, after: int, frame: Callable[[FeedEvent], bytes]) -> bytes:
        """Every event of ``batch`` framed and joined once, shared by every reader that reads the
        same range (readers woken by one change read the same range): 1,000 dashboards cost one
        join, not 1,000."""
        key = (after, batch.cursor)
        found = self._joined.get(key)
        if found is None:
            if len(self._joined) >= 64:
                self._joined.clear()
            found = self._joined[key] = b"".join(frame(e) for e in batch.events)
        return found

    async def wait(self, cursor: int, within: float, *, app: str | None = None) -> None:
        """Return at the next tick after an event newer than ``cursor`` (of ``app``, when given:
        then as soon as that app changes), or after ``within`` seconds."""
        if app is not None:
            if self.changed_since(app, cursor):
                return
            waiter = self._app_waiters.setdefault(app, asyncio.Event())
        else:
            waiter = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), within)

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
