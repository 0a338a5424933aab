"""``dependsOn``: an app waits until every dependency is Synced and Healthy, and is woken when one is.

Nothing is applied while a dependency is missing, not ready, or while the app is on a cycle (one a
child application closed after load: ``cycles``); the app shows why and retries after a short wait.
When an app settles, the apps waiting on it run now instead of at their next retry.
"""

from __future__ import annotations

from gitward.core.errors import Waiting
from gitward.reconcile.cycles import refuse_cycle
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime


class Dependencies:
    def __init__(self, registry: Registry, queue: WorkQueue) -> None:
        self._registry = registry
        self._queue = queue

    def check(self, rt: AppRuntime) -> None:
        """Raises ``Waiting`` unless every dependency of ``rt`` is Synced and Healthy."""
        runtimes, invalid = self._registry.runtimes, self._registry.invalid
        refuse_cycle(rt.name, lambda n: r.app.dependencies if (r := runtimes.get(n)) else None)
        for name in rt.app.dependencies:
            other = runtimes.get(name)
            if other is None:
                why = f"is invalid: {invalid[name]}" if name in invalid else "is not defined"
                raise Waiting(f"dependency {name!r} {why}", retry_after=10, reason="DependencyNotFound")
            if not _ready(other):
                raise Waiting(
                    f"waiting for dependency {name!r} to be Synced and Healthy",
                    retry_after=5,
                    reason="DependencyNotReady",
                )

    def wake_dependents(self, rt: AppRuntime) -> list[str]:
        """Apps waiting on ``rt`` (a retry is due) run now instead of at their next backoff."""
        if not self._registry.has_dependencies:
            return []
        woken = [
            name
            for name, other in self._registry.runtimes.items()
            if rt.name in other.app.dependencies and other.retry_at is not None
        ]
        for name in woken:
            self._queue.add(name, priority=Priority.DEPENDENCY, reason="dependency")
        return woken


def _ready(rt: AppRuntime) -> bool:
    return rt.status.synced_and_healthy
