"""Push notifications: fetch a repository once and wake only the apps whose input changed.

A webhook names a repository, not apps. ``trigger_repository`` finds every app whose ``repoURL`` is
that repository (compared by ``core.repourl.repository_key``, so ``git@host:org/r.git`` and
``https://host/org/r`` match), fetches it once per mirror whatever the number of apps, then compares
each app's input key at its revision (its path's tree hash, and the hashes of any base it reads
outside the path: ``SourceFetcher.input_key``) and queues, with webhook priority, only the apps where
it changed. Their reconciles reuse the fetch (it is fresh for ``fetch_freshness``), and apps whose
input did not change are not touched at all.

Work follows news, not deliveries (docs/reliability.md F8):
- When the push says what it moved (``refs``) and the mirror already holds exactly that, there is
  nothing to fetch: a thousand deliveries of one push fetch once (``GitCache.holds``).
- An app is queued when its input differs from both the input of its last reconcile and the input
  it was last queued for. "The source cannot be read" (the fetch failed, the revision names nothing)
  is an input too, equal to a last reconcile that failed with the same error: unresolvable before
  and after is unchanged. So an app whose pass failed (a revision that does not exist, a cluster
  that is down) waits for its retry backoff or for its input to change; it is not queued again by
  every webhook.

If the fetch fails, the apps of the repository are queued for a refresh (once per failure, as above)
so the error reaches their status and their retry backoff instead of vanishing in a webhook answer.
Deliberately not here: authentication, replay and payload parsing (``api/webhooks.py``); Helm chart
repositories (their apps follow by interval).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from gitward.core.errors import FetchError
from gitward.core.keys import ResourceKey
from gitward.core.repourl import repository_key
from gitward.core.status import HealthStatus
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime
from gitward.sources.credentials import display_url

log = logging.getLogger("gitward.triggers")

# The input of an app whose source cannot be read (the fetch failed, or the revision or path names
# nothing): this prefix and the error message. An app keeps it until its source can be read again,
# and an app whose last reconcile failed with that very message has seen it.
_UNREADABLE = "unreadable:"


def _last_failure(rt: AppRuntime) -> str | None:
    """The error of the app's last reconcile, as an input (that pass could not read one)."""
    error = rt.status.error
    return f"{_UNREADABLE}{error}" if error else None


class RepositoryTriggers:
    """The webhook side of ``EngineService``, and the queueing of apps a poll found changed."""

    def __init__(self, registry: Registry, fetcher: SourceFetcher, queue: WorkQueue) -> None:
        self._registry = registry
        self._fetcher = fetcher
        self._queue = queue
        # App name -> (revision, input) it was last queued for by a push or a poll.
        self._queued_for: dict[str, tuple[str, str]] = {}

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        """Fetch the repository ``url`` names (unless the mirror holds ``refs``, what the push moved)
        and queue the apps whose input changed; their names."""
        key = repository_key(url)
        # Per spelling of the URL, its apps by name: an app of several sources counts once. (A list
        # tested with ``in`` compared whole runtimes: quadratic, 30 s for 10,000 apps.)
        by_url: dict[str, dict[str, AppRuntime]] = {}
        for rt in self._registry.runtimes.values():
            if not self._registry.owns(rt.name):
                continue  # another replica's: it hears of the push through the store (``relay``)
            for source in rt.app.spec.all_sources:  # an app of several sources reads several repositories
                if (
                    key
                    and not (source.is_oci or source.chart or source.is_bucket)
                    and (repository_key(source.repo_url) == key)
                ):
                    by_url.setdefault(source.repo_url, {})[rt.name] = rt
        found = await asyncio.gather(
            *(self._changed_apps(u, list(apps.values()), refs or {}) for u, apps in by_url.items())
        )
        triggered = sorted(name for names in found for name in names)
        if triggered:
            log.info("push to %s: %d app(s) changed: %s", display_url(url), len(triggered), triggered)
        return triggered

    async def _changed_apps(self, url: str, apps: list[AppRuntime], refs: Mapping[str, str]) -> list[str]:
        """At most one fetch of ``url`` (as the apps spell it: one mirror), then one input comparison
        per app."""
        if not self._fetcher.git.holds(url, refs):
            try:
                credentials = await self._fetcher.credentials(url)
                await self._fetcher.fetch_repository(url, credentials=credentials, unless_held=refs)
            except FetchError as err:
                log.warning("fetch of %s after a push failed: %s", display_url(url), err)
                failed = [rt for rt in apps if self._is_new_input(rt, _UNREADABLE + err.message)]
                for rt in failed:
                    self._queue.add(rt.name, priority=Priority.WEBHOOK, reason="refresh")
                return [rt.name for rt in failed]
        return await self.queue_changed(apps, priority=Priority.WEBHOOK, reason="webhook")

    async def queue_changed(self, apps: list[AppRuntime], *, priority: Priority, reason: str) -> list[str]:
        """Queue the apps whose input changed (after a fetch): new to their last reconcile and to what
        they were last queued for; their names."""
        changed: list[str] = []
        for rt in apps:
            if self._is_new_input(rt, await self._current_input(rt)):
                self._queue.add(rt.name, priority=priority, reason=reason)
                changed.append(rt.name)
        return changed

    async def _current_input(self, rt: AppRuntime) -> str:
        """What decides the app's render now (its path, and any base it reads), or why it cannot be
        read (``_UNREADABLE`` and the error: the reconcile it may be queued for reports it)."""
        revision = rt.pinned_revision or rt.app.spec.source.revision
        try:
            return await self._fetcher.current_input(rt.app, revision, rt.status.tree)
        except FetchError as err:
            return _UNREADABLE + err.message

    def _is_new_input(self, rt: AppRuntime, current: str) -> bool:
        """Whether ``current`` is news for the app, remembering it as the input the app is queued for."""
        queued_for = self._queued_for
        if current in (rt.status.tree, _last_failure(rt)):
            queued_for.pop(rt.name, None)  # its last reconcile saw this input: nothing to do
            return False
        seen = (rt.pinned_revision or rt.app.spec.source.revision, current)
        if queued_for.get(rt.name) == seen:
            return False  # already queued for it; its pass, or that pass's retries, will handle it
        if len(queued_for) > 2 * len(self._registry.runtimes) + 64:  # forget removed apps
            for name in [n for n in queued_for if n not in self._registry.runtimes]:
                del queued_for[name]
        queued_for[rt.name] = seen
        return True


class ObjectTriggers:
    """A watched object changed: wake its owning app (drift, health), and only that app.

    Deletes too: an object the app declares that disappears (another app's prune, a person) makes it
    heal (selfHeal) or report the object Missing, without waiting for a refresh. The echo of
    gitward's own write (the resourceVersion its verdict recorded) is not drift.
    """

    def __init__(self, registry: Registry, queue: WorkQueue) -> None:
        self._registry = registry
        self._queue = queue

    def on_change(self, event_type: str, key: ResourceKey, obj: dict[str, Any]) -> None:
        owner = self._registry.claims.owner(key)
        rt = self._registry.runtimes.get(owner) if owner is not None else None
        if rt is None:
            return
        verdict = rt.verdicts.get(key)
        if verdict is None and rt.lock.locked():
            # An object the running pass is creating (claimed before it was written): the echo of
            # gitward's own create, which the pass after this one checks, behind the queued syncs.
            self._queue.add(rt.name, priority=Priority.INTERVAL, reason="created")
            return
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if verdict is not None and version == verdict.resource_version:
            if event_type == "ADDED":
                # The echo of gitward's own create: nothing drifted, but the app's health was judged
                # before the cache held the object. Queued behind the syncs already waiting, so a
                # cold start applies every app before it re-reads their health.
                self._queue.add(rt.name, priority=Priority.INTERVAL, reason="created")
            # The echo of gitward's own update: nothing changed since it was recorded.
            return
        # While an app is Progressing, its objects' changes are mostly controllers reporting rollout
        # status: they wait behind the syncs already queued (a cold start converges every app first).
        # Changes to a settled app are drift and go ahead of them.
        progressing = rt.status.health_status is HealthStatus.PROGRESSING
        self._queue.add(
            rt.name, priority=Priority.INTERVAL if progressing else Priority.DRIFT, reason="drift"
        )
