"""The read side (``EngineViews``): the app index, the status feed, trees, commits, clusters, repositories.

A reconcile calls ``status_saved`` where it persists a status (only when it changed) and
``operation_started``/``operation_progressed`` while a sync runs; each updates the app's index row
and publishes a compact event on the feed, so the list page and the stream never rebuild summaries
of every app. Reads only: nothing here changes an app.

Deliberately not here: authorization (``api/``) and the JSON API's own reads (``actions``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gitward.appview import invalid_summary, status_event
from gitward.cluster.connection import ClusterConnections
from gitward.core.appstatus import AppStatus
from gitward.core.conditions import ConditionType
from gitward.core.redact import redact_url
from gitward.reconcile.appindex import AppIndex, AppPage, AppQuery, row_of
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.livefeed import StatusFeed
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.summaries import app_summary
from gitward.reconcile.tree import build_tree
from gitward.sources.commitinfo import commit_info

log = logging.getLogger(__name__)

_FETCH_REASONS = ("FetchFailed", "NotFetched", "RevisionNotFound")


class Views:
    """Implements ``EngineViews`` over the registry, the cluster connections and the Git mirrors."""

    def __init__(self, registry: Registry, connections: ClusterConnections, fetcher: SourceFetcher) -> None:
        self._registry = registry
        self._connections = connections
        self._fetcher = fetcher
        self.feed = StatusFeed()
        self._index = AppIndex()
        self._indexed_membership: tuple[int, int, int] | None = None  # the registry's, when last compared
        self._commits: dict[tuple[str, str], dict[str, Any] | None] = {}

    def _current_index(self) -> AppIndex:
        """The index, with apps loaded, added by a parent app or removed since the last query. The
        names are compared only when the registry's membership moved: at every status save of a
        10,000-app fleet that comparison was a sixth of gitward's CPU."""
        index, registry = self._index, self._registry
        membership = (registry.membership, len(registry.runtimes), len(registry.invalid))
        if membership == self._indexed_membership:
            return index
        want = registry.runtimes.keys() | registry.invalid.keys()
        have = index.names()
        if want != have:
            for name in have - want:
                index.remove(name)
            for name in want - have:
                index.put(row_of(self._summary(name)))
        self._indexed_membership = membership
        return index

    def _summary(self, name: str) -> dict[str, Any]:
        rt = self._registry.runtimes.get(name)
        if rt is None:
            return invalid_summary(name, self._registry.invalid.get(name, ""))
        return app_summary(rt)

    def status_saved(self, rt: AppRuntime) -> None:
        """The engine saved ``rt``'s status: update its row, tell the stream. Never raises: a view
        must not fail the reconcile that fed it."""
        try:
            summary = app_summary(rt)
            index = self._current_index()
            if self._registry.runtimes.get(rt.name) is rt:  # not a pass that ended after its app left
                index.put(row_of(summary))
            self.feed.publish(rt.name, rt.app.spec.project, status_event(summary))
        except Exception:
            log.exception("status view of %s not updated", rt.name)

    def operation_started(self, rt: AppRuntime) -> None:
        """A sync of ``rt`` started: the stream shows it Running before it ends."""
        self.status_saved(rt)

    def operation_progressed(self, rt: AppRuntime) -> None:
        """A running sync of ``rt`` finished a step or waits for a wave or hook: the stream (pages,
        ``gitward app watch``, ``app sync --wait``) shows each step as it happens, not only the end."""
        self.status_saved(rt)

    # -- reads -------------------------------------------------------------------------------------

    def query_apps(self, query: AppQuery) -> AppPage:
        return self._current_index().query(query)

    def _runtime_of(self, name: str) -> AppRuntime:
        rt = self._registry.runtimes.get(name)
        if rt is None:
            raise AppNotFound(f"application {name!r} not found")
        return rt

    async def app_tree(self, name: str) -> list[dict[str, Any]]:
        rt = self._runtime_of(name)
        conn = self._connections.get(rt.app.spec.destination.cluster)
        return await build_tree(
            conn.cache if conn else None, rt.status.resources or [], explain=self._registry.health.explain
        )

    def commit_of(self, name: str) -> dict[str, Any] | None:
        rt = self._runtime_of(name)
        source = rt.app.spec.source
        sync = rt.status.sync
        commit = rt.status.commit or (sync.revision if sync is not None else "")
        if source.chart or source.is_oci_artifact or not commit:
            return None
        memo = self._commits
        key = (source.repo_url, commit)
        if key not in memo:
            found = commit_info(self._fetcher.git, source.repo_url, commit)
            if len(memo) > 4096:
                memo.clear()
            memo[key] = found.to_dict() if found else None
        return memo[key]

    def cluster_views(self) -> list[dict[str, Any]]:
        index = self._current_index()
        out = []
        for name in sorted(self._registry.clusters):
            spec = self._registry.clusters[name].spec
            conn = self._connections.get(name)
            state = conn.reachability.state if conn else None
            page = index.query(AppQuery(cluster=name, limit=0))
            out.append(
                {
                    "name": name,
                    "context": spec.context or "",
                    "connected": conn is not None,
                    "reachable": state.reachable if state else None,
                    "since": state.since if state else None,
                    "error": state.error if state else "",
                    "watchedKinds": len(conn.cache.watched()) if conn else 0,
                    "apps": page.total,
                    "health": {k: v for k, v in page.health_counts.items() if v},
                    "sync": {k: v for k, v in page.sync_counts.items() if v},
                }
            )
        return out

    def repository_views(self) -> list[dict[str, Any]]:
        fetched = self._fetcher.fetch_times()
        offset = time.time() - time.monotonic()  # monotonic fetch times to wall-clock
        by_url: dict[str, list[AppRuntime]] = {}
        for rt in self._registry.runtimes.values():
            by_url.setdefault(rt.app.spec.source.repo_url, []).append(rt)
        out = []
        for url in sorted(by_url):
            apps = sorted(by_url[url], key=lambda r: r.name)
            errors = [
                {"app": rt.name, "message": rt.status.error or ""} for rt in apps if _fetch_failed(rt.status)
            ]
            last = fetched.get(url)
            out.append(
                {
                    "url": redact_url(url),
                    "chart": any(rt.app.spec.source.chart for rt in apps),
                    "apps": [rt.name for rt in apps[:50]],
                    "appCount": len(apps),
                    "lastFetch": None if last is None else last + offset,
                    "errors": errors[:20],
                }
            )
        return out


def _fetch_failed(status: AppStatus) -> bool:
    for condition in status.conditions:
        if condition.type is ConditionType.READY and condition.reason in _FETCH_REASONS:
            return not condition.status
    return False
