"""Recording what a reconcile concluded: operation, status, conditions, events.

Kept apart from the pipeline so the rules of what a user sees (when an app is Synced, Ready or
Stalled, which events are written) are in one place. That includes two history rules: a sync that
deployed a new desired state is marked as such (retention keeps those longest), and a heal that
repeats the previous heal is folded into its entry (``reconcile.heals``). And one outage rule: while
the probe says an app's cluster cannot serve, the app shows Unknown rather than the cache's last
verdict (``show_reachability``, and a cache-only pass fails instead of reporting Synced).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gitward.cluster.reachability import Reachability
from gitward.core.appstatus import (
    UNREACHABLE_REASON,
    AppStatus,
    HealthState,
    SyncState,
    clear_cluster_unreachable,
    forget_cluster_unreachable,
    mark_cluster_unreachable,
    mark_result,
)
from gitward.core.changes import Action
from gitward.core.errors import ApplyError, ClusterError, GitwardError, Stalled
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.status import Health, HealthStatus, OperationPhase, SyncStatus
from gitward.health import aggregate, health_of
from gitward.reconcile.heals import heal_key
from gitward.reconcile.runtime import AppRuntime

if TYPE_CHECKING:
    from gitward.reconcile.context import PipelineContext
    from gitward.reconcile.execution import SyncResult
    from gitward.reconcile.pipeline import Prepared

log = logging.getLogger("gitward.reconcile")


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
    deployed: bool = False,
    heal: str = "",
) -> None:
    now = ctx.clock.now()
    op = rt.operation if rt.operation and rt.operation["id"] == op_id else ctx.store.get_operation(op_id)
    op = op or {}
    entry = ctx.store.finish_operation(
        op_id,
        phase=phase,
        message=message,
        resources=resources,
        finished_at=now,
        deployed=deployed,
        heal_key=heal,
        deployments_kept=rt.app.spec.revision_history_limit,
    )
    rt.status.operation = {
        "id": entry.id,  # a folded heal is recorded by the entry it joined
        "revision": op.get("revision", ""),
        "commit": op.get("commit", ""),
        "phase": phase.value,
        "message": message,
        "startedAt": op.get("startedAt"),
        "finishedAt": now,
        "trigger": op.get("trigger", ""),
        "initiator": op.get("initiator", ""),
        "count": entry.count,
    }


def _by(rt: AppRuntime) -> str:
    """`` by <name>`` when someone asked for the sync through the API (the audit trail in events)."""
    initiator = str((rt.operation or {}).get("initiator") or "")
    return f" by {initiator}" if initiator else ""


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
    from gitward.reconcile.execution import extraneous_ignored
    from gitward.reconcile.pipeline import stale_pending

    status = rt.status
    now = ctx.clock.now()
    messages: dict[ResourceKey, str] = {}
    failed_message = ""
    if result is None:
        _check_reachable(prepared, status, now=now)
    if result is not None and op_id is not None:
        messages = {c.key: c.message for c in result.changes if c.message}
        out = {c.key for c in result.changes.failed} | {e.key for e in result.pending_prune}
        # The executor's verdict and why: an object refused, a hook failed, a wave not healthy in time,
        # a terminate request (apply/executor.py); "" and Succeeded when all went well.
        phase, failed_message = _verdict(result)
        failed = phase is not OperationPhase.SUCCEEDED
        deployed = not failed and (
            status.last_synced_digest != prepared.desired.digest
            or status.last_synced_commit != prepared.desired.commit
        )
        trigger = str((rt.operation or {}).get("trigger", ""))
        commit = prepared.desired.commit
        heal = (  # a sync someone asked for keeps its own entry: the audit trail names them
            ""
            if failed or deployed or _by(rt)
            else heal_key(ctx.store, rt.name, result.changes, trigger=trigger, commit=commit)
        )
        _finish(
            ctx,
            rt,
            op_id,
            phase=phase,
            message=failed_message or _summary(result),
            resources=[c.to_dict() for c in result.changes],
            deployed=deployed,
            heal=heal,
        )
        status.last_sync_failed = bool(failed)
        if not failed:
            status.last_synced_digest = prepared.desired.digest
            status.last_synced_commit = prepared.desired.commit
            kind = "Normal"
            ctx.record_event(
                rt.name,
                type=kind,
                reason="Synced",
                message=f"synced {prepared.desired.commit[:12]}{_by(rt)}: {_summary(result)}",
            )
    else:
        out = set(out_of_sync or set())
    pending = stale_pending(rt, prepared)
    ignored = extraneous_ignored(prepared, pending)  # IgnoreExtraneous: left out of the sync status
    out = (out | {e.key for e in pending}) - ignored
    for entry in pending:
        messages.setdefault(
            entry.key, "requires pruning" + (" (IgnoreExtraneous)" if entry.key in ignored else "")
        )
    rows, health = resource_rows(
        rt.inventory, live=prepared.connection.cache.get, out_of_sync=out, messages=messages
    )
    synced = not out
    status.sync = SyncState(SyncStatus.SYNCED if synced else SyncStatus.OUT_OF_SYNC, prepared.desired.commit)
    status.health = HealthState(health.status, health.message)
    status.resources = rows
    status.commit = prepared.desired.commit
    status.tree = prepared.desired.tree
    status.error = failed_message
    if result is not None and result.phase is OperationPhase.TERMINATED:
        raise Stalled(failed_message, reason="Terminated")  # no retry: a person stopped it
    if failed_message:
        raise ApplyError(failed_message)
    status.last_error_event = None
    forget_cluster_unreachable(status)
    ready = synced and health.status is HealthStatus.HEALTHY
    reason = "Reconciled" if ready else ("OutOfSync" if not synced else health.status.value)
    message = "" if ready else (health.message or f"{len(out)} object(s) out of sync")
    mark_result(status, now=now, ready=ready, reason=reason, message=message, stalled=False)


def resource_rows(
    entries: Iterable[InventoryEntry],
    *,
    live: Callable[[ResourceKey], Mapping[str, Any] | None],
    out_of_sync: set[ResourceKey],
    messages: Mapping[ResourceKey, str],
) -> tuple[list[dict[str, Any]], Health]:
    """One row per owned object with its own sync and health, and the app's health (the worst)."""
    rows: list[dict[str, Any]] = []
    healths: list[Health] = []
    for entry in entries:
        key = entry.key
        obj = live(key)
        health = health_of(obj)
        healths.append(health)
        rows.append(
            {
                "id": key.id,
                "group": key.group,
                "kind": key.kind,
                "namespace": key.namespace,
                "name": key.name,
                "version": entry.version,
                "sync": (SyncStatus.OUT_OF_SYNC if key in out_of_sync else SyncStatus.SYNCED).value,
                "health": health.status.value,
                "message": messages.get(key) or health.message,
            }
        )
    app_health = aggregate(healths) if healths else Health(HealthStatus.HEALTHY)
    return rows, app_health


def _verdict(result: SyncResult) -> tuple[OperationPhase, str]:
    failed = result.changes.failed
    listed = "; ".join(f"{c.key}: {c.message}" for c in failed[:10])
    if result.phase is not OperationPhase.SUCCEEDED:
        return result.phase, result.message or listed or result.phase.value
    return (OperationPhase.FAILED, listed) if failed else (OperationPhase.SUCCEEDED, "")


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
        status.last_sync_failed = True
    status.error = message
    if status.sync is None:
        status.sync = SyncState()
    if status.health is None:
        status.health = HealthState()
    stalled = isinstance(err, Stalled) or retry_in is None
    suffix = "" if retry_in is None else f" (retrying in {retry_in:.0f}s)"
    mark_result(
        status, now=ctx.clock.now(), ready=False, reason=err.reason, message=message + suffix, stalled=stalled
    )
    if status.last_error_event != message:
        status.last_error_event = message
        # a failed sync someone asked for names them, as its success would (the audit trail)
        by = _by(rt) if op_id is not None else ""
        ctx.record_event(rt.name, type="Warning", reason=err.reason, message=message + by)


def _check_reachable(prepared: Prepared, status: AppStatus, *, now: float) -> None:
    """A pass that only read the cache proves nothing while the probe says the cluster cannot serve:
    the cache just stopped changing. Show the outage and fail the pass (retried with backoff)."""
    conn = prepared.connection
    state = conn.reachability.state
    if state.reachable:
        return
    message = state.describe(conn.name)
    mark_cluster_unreachable(status, message=message, now=now)
    raise ClusterError(message, status=0, reason=UNREACHABLE_REASON)


def show_reachability(
    runtimes: Iterable[AppRuntime], *, cluster: str, state: Reachability, now: float
) -> list[AppRuntime]:
    """The probe of ``cluster`` changed its verdict: every app there shows it now, not at its next
    pass. Returns the apps whose status changed (to save; once reachable, to compare again)."""
    changed: list[AppRuntime] = []
    message = state.describe(cluster)
    if message:
        log.warning("%s", message)
    else:
        log.info("cluster %s reachable again", cluster)
    for rt in runtimes:
        if rt.app.spec.destination.cluster != cluster:
            continue
        if message:
            shown = mark_cluster_unreachable(rt.status, message=message, now=now)
        else:
            again = f"cluster {cluster} reachable again; comparing"
            shown = clear_cluster_unreachable(rt.status, message=again, now=now)
        if shown:
            changed.append(rt)
    return changed
