"""Recording what a reconcile concluded: operation, status, conditions, events.

Kept apart from the pipeline so the rules of what a user sees (when an app is Synced, Ready or
Stalled, which events are written) are in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitward.core.changes import Action
from gitward.core.errors import ApplyError, GitwardError, Stalled
from gitward.core.keys import ResourceKey
from gitward.core.status import HealthStatus, OperationPhase, SyncStatus
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.status import mark_result, resource_rows

if TYPE_CHECKING:
    from gitward.reconcile.context import PipelineContext
    from gitward.reconcile.pipeline import Prepared, SyncResult


def _summary(result: SyncResult) -> str:
    counts = result.changes.summary()
    parts = [f"{n} {action}" for action, n in sorted(counts.items()) if action != Action.UNCHANGED.value]
    return ", ".join(parts) if parts else "no changes"


def _finish(
    ctx: PipelineContext,
    rt: AppRuntime,
    op_id: int,
    *,
    phase: OperationPhase,
    message: str,
    resources: list[dict[str, str]],
) -> None:
    now = ctx.clock.now()
    ctx.store.finish_operation(op_id, phase=phase, message=message, resources=resources, finished_at=now)
    op = rt.operation if rt.operation and rt.operation["id"] == op_id else ctx.store.get_operation(op_id)
    op = op or {}
    rt.status["operation"] = {
        "id": op_id,
        "revision": op.get("revision", ""),
        "commit": op.get("commit", ""),
        "phase": phase.value,
        "message": message,
        "startedAt": op.get("startedAt"),
        "finishedAt": now,
        "trigger": op.get("trigger", ""),
    }


def record_success(
    ctx: PipelineContext,
    rt: AppRuntime,
    prepared: Prepared,
    *,
    result: SyncResult | None,
    op_id: int | None,
    out_of_sync: set[ResourceKey] | None,
) -> None:
    """Status after a pass that reached the cluster; raises ApplyError when some object failed."""
    from gitward.reconcile.pipeline import stale_pending

    status = rt.status
    now = ctx.clock.now()
    messages: dict[ResourceKey, str] = {}
    failed_message = ""
    if result is not None and op_id is not None:
        failed = result.changes.failed
        messages = {c.key: c.message for c in result.changes if c.message}
        out = {c.key for c in failed} | {e.key for e in result.pending_prune}
        failed_message = "; ".join(f"{c.key}: {c.message}" for c in failed[:10])
        phase = OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED
        _finish(
            ctx,
            rt,
            op_id,
            phase=phase,
            message=failed_message or _summary(result),
            resources=[c.to_dict() for c in result.changes],
        )
        status["lastSyncFailed"] = bool(failed)
        if not failed:
            status["lastSyncedDigest"] = prepared.desired.digest
            status["lastSyncedCommit"] = prepared.desired.commit
            kind = "Normal"
            ctx.record_event(
                rt.name,
                type=kind,
                reason="Synced",
                message=f"synced {prepared.desired.commit[:12]}: {_summary(result)}",
            )
    else:
        out = set(out_of_sync or set())
    pending = stale_pending(rt, prepared)
    out |= {e.key for e in pending}
    for entry in pending:
        messages.setdefault(entry.key, "requires pruning")
    rows, health = resource_rows(
        rt.inventory, live=prepared.connection.cache.get, out_of_sync=out, messages=messages
    )
    synced = not out
    status["sync"] = {
        "status": (SyncStatus.SYNCED if synced else SyncStatus.OUT_OF_SYNC).value,
        "revision": prepared.desired.commit,
    }
    status["health"] = {"status": health.status.value, "message": health.message}
    status["resources"] = rows
    status["commit"] = prepared.desired.commit
    status["tree"] = prepared.desired.tree
    status["error"] = failed_message
    if failed_message:
        raise ApplyError(failed_message)
    status.pop("lastErrorEvent", None)
    ready = synced and health.status is HealthStatus.HEALTHY
    reason = "Reconciled" if ready else ("OutOfSync" if not synced else health.status.value)
    message = "" if ready else (health.message or f"{len(out)} object(s) out of sync")
    mark_result(status, now=now, ready=ready, reason=reason, message=message, stalled=False)


def record_failure(
    ctx: PipelineContext, rt: AppRuntime, err: GitwardError, *, op_id: int | None, retry_in: float | None
) -> None:
    """Status after a failed pass: the last good state is kept, the reason is shown."""
    status = rt.status
    message = err.message
    if op_id is not None:
        op = ctx.store.get_operation(op_id)
        if op is not None and op.get("phase") == OperationPhase.RUNNING.value:
            _finish(
                ctx,
                rt,
                op_id,
                phase=OperationPhase.FAILED,
                message=message,
                resources=op.get("resources") or [],
            )
        status["lastSyncFailed"] = True
    status["error"] = message
    status.setdefault("sync", {"status": SyncStatus.UNKNOWN.value, "revision": ""})
    status.setdefault("health", {"status": HealthStatus.UNKNOWN.value, "message": ""})
    stalled = isinstance(err, Stalled) or retry_in is None
    suffix = "" if retry_in is None else f" (retrying in {retry_in:.0f}s)"
    mark_result(
        status, now=ctx.clock.now(), ready=False, reason=err.reason, message=message + suffix, stalled=stalled
    )
    if status.get("lastErrorEvent") != message:
        status["lastErrorEvent"] = message
        ctx.record_event(rt.name, type="Warning", reason=err.reason, message=message)
