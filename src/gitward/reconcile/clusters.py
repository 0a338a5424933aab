"""The clusters as a reconcile sees them: a connection per cluster, made on first use, and its signals.

Connecting subscribes once per cluster to the watch-fed cache (a changed object wakes its app:
``triggers.ObjectTriggers``) and to the reachability probe (every app of the cluster shows an outage
at once, and compares again when it ends). After the state database was lost, the cluster's marked
objects are scanned once for every app that must rebuild its inventory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from gitward.apply import marked_inventories
from gitward.cluster.connection import ClusterConnection, ClusterConnections
from gitward.cluster.reachability import Reachability
from gitward.core.clock import Clock
from gitward.core.keys import InventoryEntry
from gitward.reconcile import pipeline
from gitward.reconcile.outcome import show_reachability
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.records import Records
from gitward.reconcile.registry import Registry
from gitward.reconcile.secrets import ClusterSecrets
from gitward.reconcile.triggers import ObjectTriggers
from gitward.store import Store


class Clusters:
    def __init__(
        self,
        *,
        connections: ClusterConnections,
        registry: Registry,
        store: Store,
        records: Records,
        clock: Clock,
        queue: WorkQueue,
        object_triggers: ObjectTriggers,
    ) -> None:
        self._connections = connections
        self._registry = registry
        self._store = store
        self._records = records
        self._clock = clock
        self._queue = queue
        self._object_triggers = object_triggers
        self._subscribed: set[str] = set()
        self._marked_scans: dict[str, dict[str, list[InventoryEntry]]] = {}
        self._scan_locks: dict[str, asyncio.Lock] = {}
        self.secrets: ClusterSecrets | None = None  # run --from-cluster: kubeconfigs in Secrets

    async def connection(self, cluster: str) -> ClusterConnection:
        found = self._connections.get(cluster)
        if found is not None:
            return found
        spec = self._registry.clusters.get(cluster)
        if spec is not None and spec.spec.secret_ref is not None and self.secrets is not None:
            kubeconfig, context = await self.secrets.kubeconfig(spec), spec.spec.context
        else:
            kubeconfig, context = self._registry.kubeconfig_of(cluster)
        conn = await self._connections.get_or_connect(cluster, kubeconfig, context)
        if cluster not in self._subscribed:
            self._subscribed.add(cluster)
            conn.cache.on_change(self._object_triggers.on_change)
            conn.reachability.on_change(lambda state: self._on_reachability(cluster, state))
        return conn

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        """One scan of the cluster's marked objects for every app that lost its stored inventory."""
        lock = self._scan_locks.setdefault(conn.name, asyncio.Lock())
        async with lock:
            found = self._marked_scans.get(conn.name)
            if found is None:
                found = await marked_inventories(conn.client, await pipeline.listable_kinds(conn))
                self._marked_scans[conn.name] = found
            return found

    def _on_reachability(self, cluster: str, state: Reachability) -> None:
        """The cluster's probe flipped: its apps show it now; once reachable they compare again."""
        with self._store.batch():
            now = self._clock.now()
            runtimes = self._registry.runtimes.values()
            changed = show_reachability(runtimes, cluster=cluster, state=state, now=now)
            for rt in changed:
                self._records.save_status(rt)
        for rt in changed if state.reachable else ():
            self._queue.add(rt.name, priority=Priority.INTERVAL, reason="reachable")
