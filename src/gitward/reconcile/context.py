"""The narrow view a pipeline step has of the pass around it (``reconcile_pass.ReconcilePass``), as a
Protocol, so each step is testable alone with a small fake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gitward.cluster.connection import ClusterConnection
from gitward.core.clock import Clock
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.health import HealthRules
from gitward.model import Project
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.settings import EngineSettings
from gitward.store import Store


class PipelineContext(Protocol):
    settings: EngineSettings
    store: Store
    fetcher: SourceFetcher
    clock: Clock
    health: HealthRules  # the order of docs/architecture.md, "Health": what decides each object's health

    async def connection(self, cluster: str) -> ClusterConnection: ...

    def project(self, name: str) -> Project | None: ...

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        """Objects on the cluster whose tracking marks prove an owner, by app (scanned once)."""
        ...

    def claimed_by_other(self, app: str, key: ResourceKey) -> str | None:
        """Another app that claims ``key`` (an object may belong to one app only)."""
        ...

    def released_owners(self) -> frozenset[str]:
        """Apps this gitward removed: a mark naming one binds nobody (``reconcile/removal.py``)."""
        ...

    def apply_children(self, parent: AppRuntime, children: Sequence[dict[str, Any]]) -> list[str]:
        """Register the Applications an app-of-apps rendered; returns problems found."""
        ...

    def operation_progressed(self, rt: AppRuntime) -> None:
        """A running sync of ``rt`` finished a step or started waiting: tell the live views."""
        ...

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
    ) -> None: ...
