"""Running one sync operation: the plan with its deletions, the executor, and the inventory it leaves.

``sync_plan`` completes the render's plan (``pipeline.prepare``) with the deletions this sync makes:
none unless prune is asked for (the request, else ``automated.prune``) and allowed (``Prune=false``
app-wide vetoes it). ``sync`` runs it with ``apply.executor`` under the operation the pass opened
(``reconcile/operation.py``: fresh, or resumed after a restart), which saves its progress after every
step; then works out the inventory: what the plan applies, plus stale entries still owned (a refused
or finalizer-held delete stays and is retried, docs/reliability.md F4). A step's deletions run only
after every apply of that step and of the steps before it succeeded, so a failure stops prune too.

Deliberately not here: fetching, rendering and validating (``pipeline``), recording the outcome
(``outcome``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from gitward.apply import (
    CacheView,
    ExecutionSettings,
    Executor,
    Failure,
    ObjectApply,
    awaiting_deletion,
    ensure_namespace,
    foreign_owner,
)
from gitward.cluster.connection import ClusterConnection
from gitward.core.changes import Action, ChangeSet
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.status import OperationPhase
from gitward.plan import SyncPlan, stale
from gitward.reconcile import fights, planning
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.operation import OpenOperation, OperationRecorder, stored_plan
from gitward.reconcile.pipeline import Prepared, ignore_rules, watch_kinds
from gitward.reconcile.runtime import AppRuntime, SyncRequest


def _kept_after_prune(pruned: ChangeSet, stale_entries: Sequence[InventoryEntry]) -> list[InventoryEntry]:
    """Stale entries still owned after prune: failed deletes stay in the inventory and are retried,
    deletes held by finalizers stay until the object is gone."""
    deleted = {c.key for c in pruned if c.action is Action.DELETED and not awaiting_deletion(c)}
    skipped_foreign = {c.key for c in pruned if c.action is Action.SKIPPED}
    return [e for e in stale_entries if e.key not in deleted and e.key not in skipped_foreign]


def _taken_by_others(
    conn: ClusterConnection, rt: AppRuntime, changes: ChangeSet, released: frozenset[str]
) -> set[ResourceKey]:
    """Objects whose write failed because another app's mark is on them: not this app's, so they
    leave its inventory and its next pass refuses them as shared (they would never be pruned by
    it anyway: prune needs this app's mark)."""
    return {
        c.key for c in changes.failed if foreign_owner(conn.cache.get(c.key), rt.name, released) is not None
    }


@dataclass(frozen=True)
class SyncResult:
    changes: ChangeSet
    inventory: list[InventoryEntry]
    pending_prune: list[InventoryEntry]
    phase: OperationPhase = OperationPhase.SUCCEEDED  # the executor's verdict (Terminated included)
    message: str = ""  # why it failed or stopped; "" when it succeeded
    failure: Failure | None = None  # what failed first: its step, wave or hook, reason


def resuming(rt: AppRuntime) -> bool:
    """A sync a killed process left Running waits for this app's next pass: it must run, whatever
    the gates of automation say, so the operation ends (resumed, or closed and started afresh)."""
    return rt.interrupted is not None


def _prunes(rt: AppRuntime, req: SyncRequest, prepared: Prepared) -> list[InventoryEntry]:
    """The stale entries this sync deletes: none unless prune is asked for (the request, else the
    automated policy) and allowed (``Prune=false`` app-wide vetoes it)."""
    policy = rt.app.spec.sync_policy
    automated = bool(policy.automated and policy.automated.prune)
    wanted = req.prune if req.prune is not None else automated
    return stale(rt.inventory, prepared.inventory) if wanted and policy.prune_allowed else []


async def sync_plan(ctx: PipelineContext, rt: AppRuntime, prepared: Prepared, req: SyncRequest) -> SyncPlan:
    """The plan this sync runs: the render's plan and its deletions (before the operation is opened)."""
    return await planning.sync_plan(
        prepared.connection,
        prepared.manifests,
        rt.app.spec.sync_policy,
        stale=_prunes(rt, req, prepared),
        stored=stored_plan(rt.interrupted),
    )


def _settings(ctx: PipelineContext, rt: AppRuntime) -> ExecutionSettings:
    policy = rt.app.spec.sync_policy
    return ExecutionSettings(
        concurrency=ctx.settings.apply_concurrency,
        crd_timeout=ctx.settings.wait_crd_timeout,
        timeout=policy.timeout,
        propagation=policy.prune_propagation_policy.capitalize(),
        wait_at_end=policy.wait,
        health_checks=tuple((c.api_version, c.key) for c in policy.health_checks),
        assess=ctx.health.assess,
    )


async def sync(
    ctx: PipelineContext, rt: AppRuntime, prepared: Prepared, req: SyncRequest, *, op: OpenOperation
) -> SyncResult:
    """Run the operation's plan with the executor (which persists after each step), then work out the
    inventory: what the plan applies, plus stale entries that are still owned."""
    conn, policy = prepared.connection, rt.app.spec.sync_policy
    changes = ChangeSet()
    namespace = rt.app.spec.destination.namespace
    if policy.create_namespace and namespace:
        await conn.cache.ensure_watched("v1", "Namespace")  # one watch per cluster, not a GET per app
        changes += await ensure_namespace(
            conn.client,
            namespace,
            app=rt.name,
            live=conn.cache.get,
            verdicts=rt.verdicts,
            live_is_complete=conn.cache.is_watched("v1", "Namespace"),
        )
    await watch_kinds(conn, prepared.manifests, ())
    view = CacheView(conn.cache, conn.client)
    objects = ObjectApply(
        client=conn.client,
        app=rt.name,
        live=conn.cache.get,
        verdicts=rt.verdicts,
        digests=prepared.digests,
        force=req.force,  # conflicts: one rule for every sync (apply/conflicts.py)
        ignore=ignore_rules(rt) if policy.respect_ignore_differences else (),
        # fields a drift fight paused keep their live value, unless a person asked for this sync
        keep={} if req.apply else fights.kept_fields(ctx, rt, prepared.digests),
        released=ctx.released_owners(),
    )
    try:
        executor = Executor(
            op.plan,
            objects=objects,
            view=view,
            recorder=OperationRecorder(ctx, rt, op.id),
            settings=_settings(ctx, rt),
            progress=op.progress,
            changes=op.changes + changes if op.resumed else changes,
        )
        execution = await executor.run()
    finally:
        view.close()
    if execution.phase is OperationPhase.TERMINATED:
        rt.terminate_requested = False
    result = _result(
        conn, rt, prepared, execution.changes, execution.phase, execution.message, objects.released
    )
    return dataclasses.replace(result, failure=execution.failure)


def _result(
    conn: ClusterConnection,
    rt: AppRuntime,
    prepared: Prepared,
    changes: ChangeSet,
    phase: OperationPhase,
    message: str,
    released: frozenset[str] = frozenset(),
) -> SyncResult:
    stale_entries = stale(rt.inventory, prepared.inventory)
    pending = _kept_after_prune(changes, stale_entries)
    lost = _taken_by_others(conn, rt, changes, released)
    inventory = sorted(e for e in set(prepared.inventory) | set(pending) if e.key not in lost)
    failed = {c.key for c in changes.failed}
    return SyncResult(changes, inventory, [e for e in pending if e.key not in failed], phase, message)


def extraneous_ignored(prepared: Prepared, pending: Sequence[InventoryEntry]) -> set[ResourceKey]:
    """Stale objects whose live object says ``IgnoreExtraneous``: not counted as out of sync."""
    cache = prepared.connection.cache
    return {e.key for e in pending if planning.ignores_extraneous(cache.get(e.key))}
