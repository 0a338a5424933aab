"""Push notifications: fetch a repository once and wake only the apps whose input changed.

A webhook names a repository, not apps. ``trigger_repository`` finds every app whose ``repoURL`` is
that repository (compared by ``core.repourl.repository_key``, so ``git@host:org/r.git`` and
``https://host/org/r`` match), fetches it once per mirror whatever the number of apps, then compares
each app's input key at its revision (its path's tree hash, and the hashes of any base it reads
outside the path: ``SourceFetcher.input_key``) with the key of its last reconcile
(``status["tree"]``) and queues, with webhook priority, only the apps where it differs. Their
reconciles reuse the fetch (it is fresh for ``fetch_freshness``), and apps whose input did not change
are not touched at all.

If the fetch fails, every app of the repository is queued for a refresh so the error reaches their
status (and their retry backoff) instead of vanishing in a webhook response.
Deliberately not here: authentication and payload parsing (``api/webhooks.py``); Helm chart
repositories (their apps follow by interval).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from gitward.core.errors import FetchError
from gitward.core.repourl import repository_key
from gitward.model import Receiver
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.settings import EngineSettings
from gitward.sources.credentials import display_url

log = logging.getLogger("gitward.triggers")


class RepositoryTriggersMixin:
    """Mixed into ``Engine``: the webhook side of ``EngineService``."""

    runtimes: dict[str, AppRuntime]
    fetcher: SourceFetcher
    queue: WorkQueue
    settings: EngineSettings
    receivers: dict[str, Receiver]

    def webhook_receiver(self, name: str) -> Receiver | None:
        """The Receiver ``name``, its relative ``secretFile`` resolved against the config's folder."""
        receiver = self.receivers.get(name)
        if receiver is None:
            return None
        secret = Path(receiver.spec.secret_file).expanduser()
        if not secret.is_absolute():
            base = self.settings.config_path
            secret = (base if base.is_dir() else base.parent) / secret
        spec = receiver.spec.model_copy(update={"secret_file": str(secret)})
        return receiver.model_copy(update={"spec": spec})

    async def trigger_repository(self, url: str) -> list[str]:
        """Fetch the repository ``url`` names and queue the apps whose input changed; their names."""
        key = repository_key(url)
        by_url: dict[str, list[AppRuntime]] = {}
        for rt in self.runtimes.values():
            source = rt.app.spec.source
            if key and not source.chart and repository_key(source.repo_url) == key:
                by_url.setdefault(source.repo_url, []).append(rt)
        found = await asyncio.gather(*(self._changed_apps(u, apps) for u, apps in by_url.items()))
        triggered = sorted(name for names in found for name in names)
        if by_url:
            log.info("push to %s: %d app(s) changed: %s", display_url(url), len(triggered), triggered)
        return triggered

    async def _changed_apps(self, url: str, apps: list[AppRuntime]) -> list[str]:
        """One fetch of ``url`` (as the apps spell it: one mirror), then one tree comparison per app."""
        try:
            await self.fetcher.fetch_repository(url, credentials=self.fetcher.credentials(url))
        except FetchError as err:
            log.warning("fetch of %s after a push failed: %s", display_url(url), err)
            for rt in apps:
                self.queue.add(rt.name, priority=Priority.WEBHOOK, reason="refresh")
            return [rt.name for rt in apps]
        return await self.queue_changed(apps, priority=Priority.WEBHOOK, reason="webhook")

    async def queue_changed(self, apps: list[AppRuntime], *, priority: Priority, reason: str) -> list[str]:
        """Queue the apps whose input changed since their last reconcile (after a fetch); their names."""
        changed: list[str] = []
        for rt in apps:
            if await self._tree_changed(rt):
                self.queue.add(rt.name, priority=priority, reason=reason)
                changed.append(rt.name)
        return changed

    async def _tree_changed(self, rt: AppRuntime) -> bool:
        """Whether what decides the app's render (its path, and any base it reads) changed since its
        last reconcile."""
        revision = rt.pinned_revision or rt.app.spec.source.revision
        try:
            return await self.fetcher.input_changed(rt.app, revision, rt.status.get("tree"))
        except FetchError:
            return True  # unknown revision or path: let the reconcile report it on the app
