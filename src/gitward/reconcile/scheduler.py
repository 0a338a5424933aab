"""The scheduler: when each app is reconciled, and nothing about what a reconcile does.

It owns the keyed work queue (``queue``: one pass per app in flight, bursts collapsed, priorities)
and the objects that put apps in it:
- the ticker: every app again on its interval, with jitter so a thousand apps do not wake in one
  second, and a failed app again when its backoff (``core/backoff.py``) has passed;
- the interval resync (``resync``), which skips an interval pass that provably finds nothing new;
- the triggers (``triggers``): a push or a poll that found new commits, a watch event on an owned
  object;
- the dependency wake-ups (``dependencies``).
A failure backs off per app (``Waiting`` retries after its own delay, ``Stalled`` waits for a change,
anything else grows exponentially per ``syncPolicy.retry``); a success resets it. Every timing
decision reads the injected ``Clock``, so it is tested with a fake one.

Deliberately not here: one reconcile (``reconcile_pass``), the gates in front of a sync (``gates``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Awaitable, Callable

from gitward.core.backoff import Backoff, BackoffPolicy, jittered
from gitward.core.clock import Clock
from gitward.core.errors import GitwardError, Stalled, Waiting
from gitward.reconcile import metrics
from gitward.reconcile.dependencies import Dependencies
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.registry import Registry
from gitward.reconcile.resync import IntervalResync
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.triggers import ObjectTriggers, RepositoryTriggers

#: Reasons whose pass wants sources no older than the fetch freshness window.
FETCH_REASONS = frozenset({"start", "interval", "retry", "refresh", "config", "resume"})

#: How often the ticker looks for due intervals and retries.
TICK_SECONDS = 0.5

#: A tick looks at the apps whose due time has come (a heap of the times the scheduler set); at
#: least this often it looks at every app, a backstop for a due time set some other way. Looking
#: at every app at every tick cost 20 ms per tick with 10,000 apps: 4 % of a core while idle.
FULL_SCAN_SECONDS = 60.0

RunPass = Callable[[AppRuntime, SyncRequest], Awaitable[object]]


class Scheduler:
    """Queues apps when they are due and runs ``run_pass`` for each, at most one per app at a time."""

    def __init__(
        self,
        *,
        settings: EngineSettings,
        clock: Clock,
        registry: Registry,
        fetcher: SourceFetcher,
        run_pass: RunPass,
    ) -> None:
        self._clock = clock
        self._registry = registry
        self._run_pass = run_pass
        self.queue = WorkQueue(self._work, concurrency=settings.concurrency)
        self.backoff = Backoff()
        self.dependencies = Dependencies(registry, self.queue)
        self.repository_triggers = RepositoryTriggers(registry, fetcher, self.queue)
        self.object_triggers = ObjectTriggers(registry, self.queue)
        self.resync = IntervalResync(
            settings=settings,
            clock=clock,
            registry=registry,
            fetcher=fetcher,
            triggers=self.repository_triggers,
        )
        self._ticker: asyncio.Task[None] | None = None
        self._due: list[tuple[float, str]] = []  # (monotonic time, app) when the app may be due
        self._scanned_at: float | None = None  # the last look at every app

    def start(self) -> None:
        """Run the queue and the ticker, and queue every app for its first pass (with several
        replicas, every app this one owns: the others are queued as they are taken)."""
        self.queue.start()
        self._ticker = asyncio.create_task(self._tick_forever(), name="gitward-ticker")
        for name in sorted(self._registry.runtimes):
            if self._registry.owns(name):
                self.queue.add(name, priority=Priority.INTERVAL, reason="start")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.queue.stop()

    async def _tick_forever(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_SECONDS)

    def tick(self) -> list[str]:
        """Queue every app whose retry or interval is due now; their names."""
        now = self._clock.monotonic()
        due: list[str] = []
        runtimes = self._registry.runtimes
        for name in self._candidates(now):
            rt = runtimes.get(name)
            if rt is None or not self._registry.owns(name):
                continue
            if rt.retry_at is not None and rt.retry_at <= now:
                rt.retry_at = None
                self.queue.add(name, priority=Priority.INTERVAL, reason="retry")
            elif rt.next_due and rt.next_due <= now:
                rt.next_due = 0.0
                self.queue.add(name, priority=Priority.INTERVAL, reason="interval")
            elif rt.drift_due and rt.drift_due <= now:
                rt.drift_due = 0.0
                self.queue.add(name, priority=Priority.DRIFT, reason="drift")
            else:
                continue
            due.append(name)
        return due

    def _candidates(self, now: float) -> list[str]:
        """The apps that may be due at ``now``: those whose time in the heap has come, or every
        app once per ``FULL_SCAN_SECONDS``. A name may come with a stale time (its pass ran, its
        due time moved): ``tick`` reads the runtime's own fields, so that costs one look."""
        reminded: dict[str, None] = {}
        while self._due and self._due[0][0] <= now:
            reminded[heapq.heappop(self._due)[1]] = None
        if self._scanned_at is None or now - self._scanned_at >= FULL_SCAN_SECONDS:
            self._scanned_at = now
            return list(self._registry.runtimes)
        return list(reminded)

    def _remind(self, rt: AppRuntime, when: float) -> None:
        heapq.heappush(self._due, (when, rt.name))

    async def _work(self, name: str, reasons: frozenset[str]) -> None:
        """The queue's worker: an interval pass that would find nothing new is skipped (``resync``)."""
        rt = self._registry.runtimes.get(name)
        if rt is None or not self._registry.owns(name):
            return  # gone, or another replica's now
        fetch = bool(reasons & FETCH_REASONS)
        if reasons == {"interval"} and await self.resync.poll_source(rt):
            fetch = False  # the repository is fresh within the poll window
            if await self.resync.unchanged_since_last_pass(rt):
                self.schedule_interval(rt)
                metrics.RESYNCS_SKIPPED.inc()
                return
        await self._run_pass(rt, SyncRequest(trigger=",".join(sorted(reasons)), fetch=fetch))

    # -- what a pass tells the scheduler --------------------------------------------------------------

    def schedule_interval(self, rt: AppRuntime) -> None:
        """The next interval pass of ``rt``, jittered."""
        rt.next_due = self._clock.monotonic() + jittered(rt.app.spec.sync_policy.interval)
        self._remind(rt, rt.next_due)

    def wake_at(self, rt: AppRuntime, when: float | None) -> None:
        """A drift pass of ``rt`` at ``when`` (epoch seconds): the end of a drift fight's pause, when
        the paused field is healed again (never skipped as an unchanged interval pass is)."""
        if when is None:
            return
        rt.drift_due = self._clock.monotonic() + max(0.0, when - self._clock.now())
        self._remind(rt, rt.drift_due)

    def succeeded(self, rt: AppRuntime) -> None:
        """A full pass succeeded: no retry pending, and the apps that wait on ``rt`` may go now."""
        self.backoff.reset(rt.name)
        rt.retry_at = None
        rt.settled_at = self._clock.monotonic()
        self.dependencies.wake_dependents(rt)

    def failed(self, rt: AppRuntime, err: GitwardError) -> float | None:
        """A pass failed: when to retry (seconds), or None when only a change will make it run again."""
        rt.settled_at = 0.0
        delay: float | None
        if isinstance(err, Waiting):
            delay = err.retry_after
        elif isinstance(err, Stalled):
            delay = None
        else:
            delay = self.backoff.record_failure(rt.name, _policy_of(rt))
        rt.retry_at = None if delay is None else self._clock.monotonic() + delay
        if rt.retry_at is not None:
            self._remind(rt, rt.retry_at)
        return delay


def _policy_of(rt: AppRuntime) -> BackoffPolicy:
    retry = rt.app.spec.sync_policy.retry
    return BackoffPolicy(
        duration=retry.backoff.duration,
        factor=retry.backoff.factor,
        max_duration=retry.backoff.max_duration,
        limit=retry.limit,
    )
