"""The clusters as a reconcile sees them: a connection per cluster, made on first use, and its signals.

Connecting subscribes once per cluster to the watch-fed cache (a changed object wakes its app:
``triggers.ObjectTriggers``) and to the reachability probe (every app of the cluster shows an outage
at once, and compares again when it ends). After the state database was lost, the cluster's marked
objects are scanned once for every app that must rebuild its inventory; the first pass of such an app
starts that scan (``scan_ahead``) before it fetches and renders, so the two overlap.
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
        self._scans_ahead: dict[str, asyncio.Future[None]] = {}
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

    def scan_ahead(self, cluster: str) -> None:
        """Start the marked-object scan of ``cluster`` now, once, for an app that lost its stored
        inventory: it then runs while the app's source is fetched and rendered, and the pass's own
        ``marked_inventories`` finds it kept or waits for it. A failed scan is not kept: the pass's
        call scans again and raises the error where the pass can report it."""
        if cluster in self._marked_scans or cluster in self._scans_ahead:
            return
        scan = asyncio.ensure_future(self._scan(cluster))
        self._scans_ahead[cluster] = scan
        scan.add_done_callback(lambda done: self._scanned_ahead(cluster, done))

    async def _scan(self, cluster: str) -> None:
        await self.marked_inventories(await self.connection(cluster))

    def _scanned_ahead(self, cluster: str, done: asyncio.Future[None]) -> None:
        self._scans_ahead.pop(cluster, None)
        if not done.cancelled():
            done.exception()  # retrieved: the pass meets the failure again where it waits

    async def stop(self) -> None:
        """End the scans started ahead (the connections they use close next)."""
        running = list(self._scans_ahead.values())
        for scan in running:
            scan.cancel()
        await asyncio.gather(*running, return_exceptions=True)

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
