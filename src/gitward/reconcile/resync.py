"""The interval resync, made cheap: a pass whose inputs provably did not change is skipped.

Every app is re-checked on its interval (with jitter), as users of Argo CD and Flux expect. A full
pass (render lookup, validation, comparison of every object, status) costs a few milliseconds of CPU;
with a thousand apps on a one-minute interval that is a busy core for nothing. What a full pass
could discover is already known otherwise:
- the cluster side: the watch-fed cache wakes the owning app on every change of one of its objects
  (including what a relist after 410 Gone finds), so an app not woken has no live change;
- the Git side: the app's input key (its path's tree hash, with any base outside it) at its revision
  is compared with the key of its last pass after a fetch of the repository.
So an interval pass of an app whose last pass succeeded and whose input key did not change is skipped.
A full pass still runs at least every ``full_resync`` seconds, as a safety net against anything else
(a Helm chart's view of the cluster's API versions, a missed event). A full pass that finds nothing
changed sends no request either, so skipping it hides nothing about the cluster.

The interval fetch is shared per repository: it is skipped when the repository was fetched within
half the app's interval, so a thousand apps on one repository fetch it about twice per interval, not
a thousand times. When such a fetch finds new commits, every app of the repository whose input
changed is queued at once, so a push is picked up within half an interval without a webhook.
Deliberately not here: the full pass (``reconcile_pass``), pushes by webhook (``triggers``).
"""

from __future__ import annotations

import logging

from gitward.core.clock import Clock
from gitward.core.errors import FetchError
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import Priority
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.triggers import RepositoryTriggers
from gitward.sources.credentials import display_url

log = logging.getLogger("gitward.resync")


class IntervalResync:
    """The repository poll and the skip of unchanged interval passes."""

    def __init__(
        self,
        *,
        settings: EngineSettings,
        clock: Clock,
        registry: Registry,
        fetcher: SourceFetcher,
        triggers: RepositoryTriggers,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._registry = registry
        self._fetcher = fetcher
        self._triggers = triggers

    async def poll_source(self, rt: AppRuntime) -> bool:
        """Fetch the app's repository unless it was fetched within half the app's interval; True when
        the mirror is now fresh enough for the pass (False: a chart, or the fetch failed and the pass
        should fetch and report it itself)."""
        source = rt.app.spec.source
        if source.chart or source.is_oci_artifact or source.is_bucket or rt.app.spec.sources:
            return False  # several sources: the pass fetches each itself
        url = source.repo_url
        window = max(rt.app.spec.sync_policy.interval / 2, self._settings.fetch_freshness)
        if self._fetcher.fetched_within(url, window):
            return True
        try:
            result = await self._fetcher.fetch_repository(
                url, credentials=await self._fetcher.credentials(url)
            )
        except FetchError:
            return False
        if result.changed:
            # Not ``rt`` itself: its own pass, under way, compares its input next.
            apps = [
                o
                for o in self._registry.runtimes.values()
                if o is not rt and o.app.spec.source.repo_url == url
            ]
            changed = await self._triggers.queue_changed(apps, priority=Priority.INTERVAL, reason="source")
            log.info("new commit in %s: %d app(s) changed", display_url(url), len(changed))
        return True

    async def unchanged_since_last_pass(self, rt: AppRuntime) -> bool:
        """True when a pass of ``rt`` would find nothing new (see the module docstring); call after
        ``poll_source``."""
        if not rt.settled_at or self._clock.monotonic() - rt.settled_at >= self._settings.full_resync:
            return False
        if rt.lists_orphans:  # objects no app owns change without waking the app (``orphans``)
            return False
        revision = rt.pinned_revision or rt.app.spec.source.revision
        try:
            return not await self._fetcher.input_changed(rt.app, revision, rt.status.tree)
        except FetchError:
            return False  # the full pass reports it on the app
