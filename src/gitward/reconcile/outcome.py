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
from gitward.core.logfields import fields
from gitward.core.status import Health, HealthStatus, OperationPhase, SyncStatus
from gitward.core.steps import Step
from gitward.health import Decision, aggregate, builtin_decision
from gitward.reconcile import fights
from gitward.reconcile.heals import drift_of, heal_key
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
    asked: bool = False,
) -> None:
    """Status after a pass that reached the cluster; raises ApplyError when some object failed.

    An operation nobody asked for (``asked``: a person's sync, a resumed one) that deployed nothing
    new, wrote nothing and failed nothing leaves no history entry: the status records the pass."""
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
        touched = any(c.action.is_write or c.action.is_failure for c in result.changes)
        noop = not (asked or failed or deployed or touched or _by(rt))
        if noop:  # nothing changed or was tried: status, not history
            ctx.store.discard_operation(op_id)
            log.debug(
                "operation %s of %s changed nothing; not kept in history",
                op_id,
                rt.name,
                extra=fields(app=rt.name, operation=op_id, trigger=trigger),
            )
        else:
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
            _log_finished(rt, op_id, result, phase=phase, message=failed_message or _summary(result))
            if heal and not failed:
                _log_heal(ctx, rt, result)
        status.last_sync_failed = bool(failed)
        if not failed and not noop:
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
    if result is not None and result.phase is not OperationPhase.SUCCEEDED:
        out |= _not_applied(rt, prepared, result, messages)
    pending = stale_pending(rt, prepared)
    ignored = extraneous_ignored(prepared, pending)  # IgnoreExtraneous: left out of the sync status
    out = (out | {e.key for e in pending}) - ignored
    cache = prepared.connection.cache
    out |= {e.key for e in rt.inventory if cache.get(e.key) is None} - {e.key for e in pending}
    for entry in pending:
        messages.setdefault(
            entry.key, "requires pruning" + (" (IgnoreExtraneous)" if entry.key in ignored else "")
        )
    fought = fights.shown(ctx, rt)  # a field a drift fight paused still differs from Git
    out |= set(fought)
    for key, note in fought.items():
        messages.setdefault(key, note)
    rows, health = resource_rows(
        rt.inventory,
        live=prepared.connection.cache.get,
        out_of_sync=out,
        messages=messages,
        explain=ctx.health.explain,
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
        failure = result.failure if result is not None else None
        if failure is None:
            raise ApplyError(failed_message)
        raise ApplyError(failed_message, reason=failure.reason, step=failure.step, where=failure.where)
    status.last_error_event = None
    forget_cluster_unreachable(status)
    ready = synced and health.status is HealthStatus.HEALTHY
    if ready:
        mark_result(status, now=now, ready=True, reason="Reconciled", message="", stalled=False)
    elif not synced and out <= set(fought):
        message = fights.ready_message(rt)
        mark_result(status, now=now, ready=False, reason=fights.REASON, message=message, stalled=False)
    elif not synced:
        message = f"{len(out)} object(s) out of sync: {_listed(rows, out)}"
        mark_result(status, now=now, ready=False, reason="OutOfSync", message=message, stalled=False)
    else:
        reason, message, where = _health_reason(rows, health)
        mark_result(
            status,
            now=now,
            ready=False,
            reason=reason,
            message=message,
            stalled=False,
            step=Step.HEALTH,
            where=where,
        )


def _not_applied(
    rt: AppRuntime, prepared: Prepared, result: SyncResult, messages: dict[ResourceKey, str]
) -> set[ResourceKey]:
    """Objects a failed operation never reached (an earlier step failed) and that are not provably
    as Git wants them: OutOfSync, saying why they were not applied."""
    from gitward.apply import Standing, standing

    UNCHANGED = Standing.UNCHANGED
    reached = {c.key for c in result.changes}
    cache = prepared.connection.cache
    why = f"not applied: {result.failure.where} failed" if result.failure else "not applied"
    found: set[ResourceKey] = set()
    for obj, (key, digest) in zip(prepared.objects, prepared.digests.items(), strict=True):
        if key in reached:
            continue
        live = cache.get(key)
        if live is not None and standing(obj, live, verdicts=rt.verdicts, digest=digest) is UNCHANGED:
            continue
        found.add(key)
        messages.setdefault(key, why)
    return found


def _named(row: Mapping[str, Any]) -> str:
    """``Deployment shop/web``: how a status message names an object."""
    where = f"{row['namespace']}/{row['name']}" if row.get("namespace") else str(row.get("name", ""))
    return f"{row.get('kind', '')} {where}"


def _listed(rows: list[dict[str, Any]], keys: set[ResourceKey], shown: int = 3) -> str:
    ids = {k.id for k in keys}
    names = [_named(r) for r in rows if r["id"] in ids][:shown] or sorted(str(k) for k in keys)[:shown]
    more = f" and {len(keys) - len(names)} more" if len(keys) > len(names) else ""
    return ", ".join(names) + more


def _health_reason(rows: list[dict[str, Any]], health: Health) -> tuple[str, str, str]:
    """The app is synced but not healthy: (reason, message, object) naming the first object whose
    health is the app's (the worst), e.g. ``Degraded``, ``Deployment shop/web: ...``."""
    worst = next((r for r in rows if r.get("health") == health.status.value), None)
    if worst is None:
        return health.status.value, health.message, ""
    named = _named(worst)
    detail = str(worst.get("message") or health.message or health.status.value)
    reason = health.status.value
    if "ProgressDeadlineExceeded" in detail:
        reason = "ProgressDeadlineExceeded"
    return reason, f"{named} is {health.status.value}: {detail}", named


def _log_finished(
    rt: AppRuntime, op_id: int, result: SyncResult, *, phase: OperationPhase, message: str
) -> None:
    op = rt.operation or {}
    counts = result.changes.summary()
    changed = sum(counts.get(a.value, 0) for a in (Action.CREATED, Action.CONFIGURED))
    pruned = counts.get(Action.DELETED.value, 0)
    revision = str(op.get("commit") or op.get("revision") or "")[:12]
    level = logging.INFO if phase is OperationPhase.SUCCEEDED else logging.WARNING
    log.log(
        level,
        "operation %s of %s %s at %s: %s",
        op_id,
        rt.name,
        phase.value,
        revision,
        message,
        extra=fields(
            app=rt.name,
            operation=op_id,
            trigger=op.get("trigger", ""),
            revision=revision,
            phase=phase.value,
            changed=changed,
            pruned=pruned,
            failed=counts.get(Action.FAILED.value, 0),
        ),
    )


def _log_heal(ctx: PipelineContext, rt: AppRuntime, result: SyncResult) -> None:
    """One line per drift heal: the objects set back, the fields and who had changed them."""
    written = sorted(c.key.id for c in result.changes if c.action.is_write)
    if not written:
        return
    drift = drift_of(ctx.store, rt.name, written)
    changed_fields = sorted({f for fs, _ in drift.values() for f in fs})
    managers = sorted({m for _, m in drift.values() if m})
    log.info(
        "drift healed on %s: %s (%s%s)",
        rt.name,
        ", ".join(written),
        ", ".join(changed_fields) or "fields",
        f" changed by {', '.join(managers)}" if managers else "",
        extra=fields(app=rt.name, objects=written, fields=changed_fields, manager=", ".join(managers)),
    )


def resource_rows(
    entries: Iterable[InventoryEntry],
    *,
    live: Callable[[ResourceKey], Mapping[str, Any] | None],
    out_of_sync: set[ResourceKey],
    messages: Mapping[ResourceKey, str],
    explain: Callable[[Mapping[str, Any] | None], Decision] = builtin_decision,
) -> tuple[list[dict[str, Any]], Health]:
    """One row per owned object with its own sync and health, and the app's health (the worst)."""
    rows: list[dict[str, Any]] = []
    healths: list[Health] = []
    for entry in entries:
        key = entry.key
        obj = live(key)
        decision = explain(obj)
        health = decision.health
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
                "healthBy": decision.label,
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
        status,
        now=ctx.clock.now(),
        ready=False,
        reason=err.reason,
        message=message + suffix,
        stalled=stalled,
        step=err.step,
        where=err.where,
    )
    if status.last_error_event != message or op_id is not None:
        step = err.where or (err.step.value if err.step is not None else "")
        log.log(
            logging.ERROR if stalled else logging.WARNING,
            "%s failed%s: %s: %s%s",
            rt.name,
            f" at {step}" if step else "",
            err.reason,
            message,
            suffix,
            extra=fields(
                app=rt.name,
                step=err.step.value if err.step is not None else "",
                where=err.where or None,
                reason=err.reason,
                error=message,  # "message" is the line's own key
                operation=op_id,
                stalled=stalled,
                retry_in=retry_in,
            ),
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
