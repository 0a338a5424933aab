"""Waiting inside a sync: for a wave to be healthy, for a hook to finish, for an object to be gone.

Waits read live objects through a ``LiveView``. In the engine that is ``CacheView``: the watch-fed
cluster cache, so a wait sends no request and wakes on the watch event that changes its verdict (a
kind the cache cannot watch is read with GET, once a second). Unit tests pass an in-memory view with
a fake clock, which makes the timing logic testable without sleeping.

Every wait ends at the operation's deadline and as soon as the operation is asked to stop
(``gitward app terminate``); neither is an exception, the caller records what it saw. Verdicts come
from ``gitward.health`` (docs/architecture.md, "The plan and the executor"): an ordinary object counts once it
is Healthy or Suspended and fails the wave when it is Degraded; a hook counts once it is Healthy (a
Job Complete, a Pod Succeeded) and fails when it is Degraded (a Job Failed, a Pod Failed).

Deliberately not here: what to wait for and when (``executor``), creating or deleting (``hooks``).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gitward.cluster.cache import ClusterCache
from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey
from gitward.core.status import Health, HealthStatus
from gitward.health import health_of

#: How an object's health is found (``health.HealthRules.assess``, or the built-in rules alone).
Assess = Callable[[Mapping[str, Any] | None], Health]

#: How often a kind that is not watched is read again.
UNWATCHED_POLL = 1.0
#: How often a wait looks at the terminate flag when nothing it watches changes.
STOP_CHECK = 0.5


class LiveView(Protocol):
    """Live objects as a sync's waits need them, and a way to sleep until something changes."""

    def monotonic(self) -> float: ...

    async def ensure_watched(self, api_version: str, kind: str) -> None: ...

    async def read(self, api_version: str, key: ResourceKey) -> Mapping[str, Any] | None: ...

    async def changed(self, timeout: float) -> None:  # noqa: ASYNC109 - a bounded nap, not a cancellation
        """Return at the next change of a watched object, or after ``timeout`` seconds."""
        ...


class CacheView:
    """``LiveView`` over a cluster's cache; ``close()`` ends its subscription."""

    def __init__(self, cache: ClusterCache, client: KubeClient) -> None:
        self._cache = cache
        self._client = client
        self._event = asyncio.Event()
        self._unwatched: set[tuple[str, str]] = set()
        self._unsubscribe = cache.on_change(lambda *_: self._event.set())

    def monotonic(self) -> float:
        return time.monotonic()

    async def ensure_watched(self, api_version: str, kind: str) -> None:
        if self._cache.is_watched(api_version, kind):
            return
        try:
            await self._cache.ensure_watched(api_version, kind)
        except ClusterError as error:
            if error.status not in (403, 404):
                raise
            self._unwatched.add((api_version, kind))  # read with GET (a CRD may serve it later)

    async def read(self, api_version: str, key: ResourceKey) -> Mapping[str, Any] | None:
        if self._cache.is_watched(api_version, key.kind):
            return self._cache.get(key)
        return await self._client.get(api_version, key.kind, key.namespace, key.name)

    async def changed(self, timeout: float) -> None:  # noqa: ASYNC109
        limit = min(timeout, UNWATCHED_POLL) if self._unwatched else timeout
        self._event.clear()
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(limit, 0.0))
        except TimeoutError:
            return

    def close(self) -> None:
        self._unsubscribe()


class Outcome(enum.StrEnum):
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Waited:
    """How a wait ended and the last health seen of each object."""

    outcome: Outcome
    health: Mapping[ResourceKey, Health]

    def failures(self) -> list[tuple[ResourceKey, Health]]:
        return [(k, h) for k, h in self.health.items() if h.status is HealthStatus.DEGRADED]

    def pending(self, settled: frozenset[HealthStatus]) -> list[tuple[ResourceKey, Health]]:
        return [(k, h) for k, h in self.health.items() if h.status not in settled]


#: What counts as finished: an ordinary object of a wave, and a hook.
OBJECT_SETTLED = frozenset({HealthStatus.HEALTHY, HealthStatus.SUSPENDED})
HOOK_SETTLED = frozenset({HealthStatus.HEALTHY})


@dataclass(frozen=True, kw_only=True)
class WaitControl:
    """What every wait of one operation shares: the view, the deadline, stop and report hooks."""

    view: LiveView
    deadline: float  # on the view's monotonic clock
    stop: Callable[[], bool] = lambda: False
    report: Callable[[str], None] = lambda message: None
    assess: Assess = health_of  # the engine's HealthRules: the user's checks and plugins come first

    def remaining(self) -> float:
        return max(self.deadline - self.view.monotonic(), 0.0)

    def with_budget(self, seconds: float) -> WaitControl:
        """The same control with a fresh deadline (SyncFail hooks run after a timed-out wave)."""
        return WaitControl(
            view=self.view,
            deadline=self.view.monotonic() + seconds,
            stop=self.stop,
            report=self.report,
            assess=self.assess,
        )


async def wait_settled(
    objects: Sequence[tuple[str, ResourceKey]],
    *,
    control: WaitControl,
    settled: frozenset[HealthStatus],
    describe: Callable[[list[tuple[ResourceKey, Health]]], str],
) -> Waited:
    """Wait until every ``(apiVersion, key)`` is settled, one is Degraded, the deadline, or a stop."""
    for api_version, kind in sorted({(a, k.kind) for a, k in objects}):
        await control.view.ensure_watched(api_version, kind)
    reported = ""
    while True:
        health = {key: control.assess(await control.view.read(api, key)) for api, key in objects}
        waited = Waited(Outcome.DONE, health)
        if waited.failures():
            return Waited(Outcome.FAILED, health)
        pending = waited.pending(settled)
        if not pending:
            return waited
        if control.stop():
            return Waited(Outcome.STOPPED, health)
        if control.remaining() <= 0:
            return Waited(Outcome.TIMED_OUT, health)
        message = describe(pending)
        if message != reported:
            control.report(message)
            reported = message
        await control.view.changed(min(control.remaining(), STOP_CHECK))


async def wait_gone(api_version: str, key: ResourceKey, *, control: WaitControl) -> bool:
    """Wait until ``key`` no longer exists; False at the deadline or on a stop."""
    await control.view.ensure_watched(api_version, key.kind)
    while await control.view.read(api_version, key) is not None:
        if control.stop() or control.remaining() <= 0:
            return False
        await control.view.changed(min(control.remaining(), STOP_CHECK))
    return True


def health_list(items: list[tuple[ResourceKey, Health]], *, limit: int = 5) -> str:
    """``Kind/ns/name (Status: message)``, the first ``limit`` of them and how many more."""
    shown = [f"{key} ({h.status}{': ' + h.message if h.message else ''})" for key, h in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more
