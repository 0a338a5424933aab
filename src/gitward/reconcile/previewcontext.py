"""What ``gitward preview`` runs the engine's own steps in: a ``PipelineContext`` that can write nothing.

The preview prepares and dry-runs apps with the very functions a reconcile and ``app sync --dry-run``
use (``pipeline.prepare``, ``dryrun.dry_run``), so it refuses what a sync would refuse and shows
what a sync would change. Those functions read their collaborators through ``PipelineContext``;
this one answers from a config loaded for one side of the change (base or head) and from the
cluster as it is, and has no state at all:

- ``store`` raises on any use: a code path that would record something is a bug, and the preview
  fails loudly instead of writing (the user's state database is never even opened).
- Clusters are connected once per kubeconfig and context, whichever side names them, and closed by
  ``PreviewClusters.close``. Every request a preview sends is a read or a server-side dry-run.
- An app's inventory is what the cluster's ownership marks prove (``core/marks.py``), scanned once
  per cluster, as the engine rebuilds it after losing its database.
- Child Applications an app-of-apps renders are checked as the registry checks them, and kept for
  the report, never registered; events are dropped (nothing happened).

Deliberately not here: which apps to preview and what the report says (``preview``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gitward.apply import marked_inventories
from gitward.cluster.connection import ClusterConnection, ConnectionSettings
from gitward.core.clock import Clock, SystemClock
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.health import HealthRules
from gitward.model import Application, LoadedConfig, Project, load_object
from gitward.model.repository import Repository
from gitward.reconcile import pipeline
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.registry import kubeconfig_of
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.settings import EngineSettings
from gitward.store import Store


class PreviewHasNoStore(RuntimeError):
    """Something tried to read or write state during a preview; the preview keeps none."""


class PreviewClusters:
    """One connection per (kubeconfig, context) for the whole preview, and each cluster's marked
    inventories, scanned once."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self._settings = settings
        self._connections: dict[tuple[Path, str | None], ClusterConnection] = {}
        self._marked: dict[int, Mapping[str, Sequence[InventoryEntry]]] = {}

    async def connect(self, name: str, kubeconfig: Path, context: str | None) -> ClusterConnection:
        key = (kubeconfig, context)
        found = self._connections.get(key)
        if found is None:
            found = await ClusterConnection.connect(kubeconfig, context, name=name, settings=self._settings)
            self._connections[key] = found
        return found

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        found = self._marked.get(id(conn))
        if found is None:
            found = await marked_inventories(conn.client, await pipeline.listable_kinds(conn))
            self._marked[id(conn)] = found
        return found

    def request_counts(self) -> dict[str, int]:
        """Requests sent to every cluster by verb, summed (tests prove a preview writes nothing)."""
        total: dict[str, int] = {}
        for conn in self._connections.values():
            for verb, count in conn.client.request_counts().items():
                total[verb] = total.get(verb, 0) + count
        return total

    async def close(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            await conn.close()


class PreviewContext:
    """``PipelineContext`` for one side of the change: its config, the shared fetcher and clusters."""

    def __init__(
        self,
        *,
        config: LoadedConfig,
        config_folder: Path,
        settings: EngineSettings,
        fetcher: SourceFetcher,
        clusters: PreviewClusters,
        credentials: tuple[Repository, ...] = (),
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials  # Repository objects given apart from the config, for fetches
        self.settings = settings
        self.fetcher = fetcher
        self.clock: Clock = clock or SystemClock()
        self._config_folder = config_folder
        self._clusters = clusters
        self._clusters_by_name = {c.name: c for c in config.clusters}
        self._declared = {app.name for app in config.applications}
        self.children: dict[str, list[Application]] = {}  # parent app -> child Applications rendered
        self.health = HealthRules()  # the side's HealthChecks over the built-ins, as the registry sets them
        self.health.configure(config.health_checks, refused=config.failed("HealthCheck"))

    @property
    def store(self) -> Store:
        raise PreviewHasNoStore("a preview keeps no state; nothing may be read from or written to a store")

    @store.setter
    def store(self, _value: Store) -> NoReturn:
        raise PreviewHasNoStore("a preview keeps no state")

    async def connection(self, cluster: str) -> ClusterConnection:
        kubeconfig, context = kubeconfig_of(
            self._clusters_by_name, cluster, config_folder=self._config_folder
        )
        return await self._clusters.connect(cluster, kubeconfig, context)

    def project(self, name: str) -> Project | None:
        return self.config.project(name)

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        return await self._clusters.marked_inventories(conn)

    def claimed_by_other(self, app: str, key: ResourceKey) -> str | None:
        # The engine's claims index is its apps' stored inventories; a preview has none, and
        # ``check_claims`` reads the live mark of every object not in the app's (marked) inventory.
        return None

    def released_owners(self) -> frozenset[str]:
        return frozenset()  # apps this gitward removed are in its state, which a preview does not read

    def apply_children(self, parent: AppRuntime, children: Sequence[dict[str, Any]]) -> list[str]:
        """The registry's checks of rendered child Applications (``Registry._child_of``), nothing
        registered: the children are kept for the report."""
        problems: list[str] = []
        loaded: list[Application] = []
        for document in children:
            try:
                child = load_object(document)
            except Exception as exc:
                problems.append(f"child application: {exc}")
                continue
            if not isinstance(child, Application):
                problems.append(f"child {child.kind} {child.name!r} is not an Application")
            elif child.name in self._declared:
                problems.append(f"child application {child.name!r} is already defined elsewhere")
            else:
                loaded.append(child)
        self.children[parent.name] = sorted(loaded, key=lambda app: app.name)
        return problems

    def operation_progressed(self, rt: AppRuntime) -> None:
        return None

    def record_event(
        self,
        app: str,
        *,
        type: str,
        reason: str,
        message: str,
        object_id: str = "",
        fields: Sequence[str] = (),
        manager: str = "",
    ) -> None:
        return None  # a preview happens to nothing: there is no event to record
