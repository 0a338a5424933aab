"""The numbers ``metrics.EngineCollector`` reads at scrape time (``metrics.Observed``), taken from the
counters the queue, the render cache, the cluster clients and the registry keep anyway."""

from __future__ import annotations

from collections.abc import Mapping

from gitward.cluster.connection import ClusterConnections
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import WorkQueue
from gitward.reconcile.registry import Registry


class Readings:
    def __init__(
        self, *, queue: WorkQueue, fetcher: SourceFetcher, connections: ClusterConnections, registry: Registry
    ) -> None:
        self._queue = queue
        self._fetcher = fetcher
        self._connections = connections
        self._registry = registry

    def queue_depth(self) -> int:
        return self._queue.depth()

    def render_cache_counts(self) -> tuple[int, int]:
        cache = self._fetcher.render_cache
        return cache.hits, cache.misses

    def app_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for rt in list(self._registry.runtimes.values()):  # a copy: a scrape may run on another thread
            if not self._registry.owns(rt.name):
                continue  # another replica's: summed over the replicas, each app counts once
            status = rt.status
            state = (status.sync_status.value, status.health_status.value)
            counts[state] = counts.get(state, 0) + 1
        return counts

    def cluster_answer_counts(self) -> dict[str, Mapping[tuple[str, str], int]]:
        out: dict[str, Mapping[tuple[str, str], int]] = {}
        for name in self._connections.names():
            conn = self._connections.get(name)
            if conn is not None:
                out[name] = conn.client.answer_counts()
        return out
