"""A keyed work queue: at most one reconcile per app in flight, duplicates collapsed, priorities.

Why: triggers arrive in bursts (a push touches many apps, a rollout fires many watch events for one
app). Collapsing by app key means a burst costs one reconcile per app, and the newest state always
wins because a reconcile reads the newest desired and live state when it starts. An app that is
triggered while it runs is queued again exactly once, to run after the current pass.

Priorities (lower runs first): user action > webhook > drift > interval. A waiting item keeps the
most urgent priority of all triggers collapsed into it, and the reasons of each.
Deliberately not here: timing (``scheduler``) and what a reconcile does (``pipeline``).
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gitward.reconcile import metrics


class Priority(enum.IntEnum):
    USER = 0
    WEBHOOK = 1
    DRIFT = 2
    DEPENDENCY = 3
    INTERVAL = 4


@dataclass
class _Pending:
    priority: Priority
    reasons: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)  # first trigger of the collapsed ones


Worker = Callable[[str, frozenset[str]], Awaitable[None]]


class WorkQueue:
    """Runs ``worker(key, reasons)`` for queued keys with at most ``concurrency`` in parallel."""

    def __init__(self, worker: Worker, *, concurrency: int = 8) -> None:
        self._worker = worker
        self._concurrency = max(1, concurrency)
        self._pending: dict[str, _Pending] = {}
        self._heap: list[tuple[int, int, str]] = []
        self._counter = itertools.count()
        self._running: set[str] = set()
        self._requeue: dict[str, _Pending] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self.processed = 0

    def add(self, key: str, *, priority: Priority, reason: str) -> None:
        """Queue ``key``; if it is queued already, keep one entry with the more urgent priority."""
        if key in self._running:
            self._merge(self._requeue, key, priority, reason)
            return
        if self._merge(self._pending, key, priority, reason):
            heapq.heappush(self._heap, (int(self._pending[key].priority), next(self._counter), key))
        self._idle.clear()
        self._wakeup.set()

    @staticmethod
    def _merge(table: dict[str, _Pending], key: str, priority: Priority, reason: str) -> bool:
        """Record a trigger; True when the heap needs a (new or more urgent) entry."""
        current = table.get(key)
        if current is None:
            table[key] = _Pending(priority, {reason})
            return True
        current.reasons.add(reason)
        if priority < current.priority:
            current.priority = priority
            return True
        return False

    def depth(self) -> int:
        return len(self._pending)

    def is_busy(self, key: str) -> bool:
        return key in self._running or key in self._pending

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._dispatch(), name="workqueue")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def _pop(self) -> tuple[str, frozenset[str]] | None:
        while self._heap:
            priority, _, key = heapq.heappop(self._heap)
            pending = self._pending.get(key)
            if pending is None or int(pending.priority) != priority:
                continue  # stale heap entry: superseded by a more urgent one
            del self._pending[key]
            waited = time.monotonic() - pending.since
            metrics.QUEUE_WAIT_SECONDS.labels(pending.priority.name.lower()).observe(waited)
            return key, frozenset(pending.reasons)
        return None

    async def _dispatch(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while len(self._running) < self._concurrency:
                item = self._pop()
                if item is None:
                    break
                key, reasons = item
                self._running.add(key)
                task = asyncio.create_task(self._run(key, reasons), name=f"reconcile:{key}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._update_idle()

    async def _run(self, key: str, reasons: frozenset[str]) -> None:
        try:
            await self._worker(key, reasons)
        finally:
            self.processed += 1
            self._running.discard(key)
            again = self._requeue.pop(key, None)
            if again is not None:
                for reason in again.reasons:
                    self.add(key, priority=again.priority, reason=reason)
            self._wakeup.set()
            self._update_idle()

    def _update_idle(self) -> None:
        if not self._running and not self._pending:
            self._idle.set()
