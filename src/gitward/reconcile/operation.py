"""A sync operation's life in the store: opened (fresh or resumed), its progress, its stored plan.

A fresh operation is recorded before the first write, with the plan it runs (its JSON and digest, the
render's digest and the revision): ``Store.start_operation``. The executor reports after every step
and every hook (``OperationRecorder``), so the store always says which steps completed, which hooks
finished and under which names their runs were created.

After a restart the engine reads the operations a killed process left Running
(``InterruptedOperation``). The app's next pass rebuilds the plan from the same inputs; when both the
render's digest and the plan's digest equal the stored ones, the operation is *resumed*: same id,
the stored progress, the changes recorded so far, so the executor goes on at the step it was in and
runs no completed hook again. Otherwise (a new commit, a changed app, different objects to prune)
it is closed as Failed saying why, and a new operation starts from the beginning
(docs/reliability.md, F3).

Deliberately not here: running the plan (``apply.executor``), building it (``pipeline``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gitward.core.appstatus import mark_reconciling
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.status import OperationPhase
from gitward.plan import Progress, SyncPlan, next_step
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime, InterruptedOperation, SyncRequest
from gitward.store import Store


@dataclass(frozen=True)
class OpenOperation:
    """The operation a sync runs under: its id, plan, and where it stands."""

    id: int
    started_at: float
    plan: SyncPlan
    progress: Progress
    changes: ChangeSet
    resumed: bool = False


def adopt_interrupted(
    store: Store, runtimes: Mapping[str, AppRuntime], *, now: float, scope: Collection[str] | None = None
) -> None:
    """At start: each app's latest Running operation with a stored plan waits for the app's first
    pass (``rt.interrupted``); any other Running operation is closed, and its app syncs afresh.
    ``scope``: only the operations of these apps (with several replicas, the apps just taken: the
    others' operations are their owners')."""
    for op in reversed(store.unfinished_operations()):  # newest first
        if scope is not None and str(op["app"]) not in scope:
            continue
        rt = runtimes.get(str(op["app"]))
        plan, progress = store.operation_plan(int(op["id"]))
        if rt is not None and plan is not None and rt.interrupted is None:
            rt.interrupted = InterruptedOperation(int(op["id"]), op, plan, progress or {})
            continue
        store.finish_operation(
            int(op["id"]),
            phase=OperationPhase.FAILED,
            message="interrupted by a restart; retried",
            resources=op.get("resources") or [],
            finished_at=now,
        )


def plan_document(plan: SyncPlan, *, desired_digest: str, revision: str, commit: str) -> dict[str, Any]:
    return {
        "planDigest": plan.digest,
        "desiredDigest": desired_digest,
        "revision": revision,
        "commit": commit,
        "plan": plan.to_dict(),
    }


def stored_plan(interrupted: InterruptedOperation | None) -> SyncPlan | None:
    """The plan the interrupted operation ran (its deletions place the rebuilt plan's stand-ins)."""
    if interrupted is None:
        return None
    try:
        return SyncPlan.from_dict(interrupted.plan.get("plan") or {})
    except (ValueError, KeyError, TypeError):
        return None


def open_operation(
    ctx: PipelineContext,
    rt: AppRuntime,
    req: SyncRequest,
    *,
    plan: SyncPlan,
    desired_digest: str,
    revision: str,
    commit: str,
    intent: list[InventoryEntry],
    started_at: float,
) -> OpenOperation:
    """Resume the app's interrupted operation when its plan is this one, else record a new one.

    Synchronous, like the claims taken around it: nothing of another app runs in between.
    """
    interrupted, rt.interrupted = rt.interrupted, None
    if interrupted is not None:
        resumed = _resume(ctx, rt, interrupted, plan=plan, desired_digest=desired_digest, intent=intent)
        if resumed is not None:
            return resumed
    op_id = ctx.store.start_operation(
        rt.name,
        revision=revision,
        commit=commit,
        trigger=req.trigger,
        initiator=req.initiator,
        started_at=started_at,
        inventory=intent,
        plan=plan_document(plan, desired_digest=desired_digest, revision=revision, commit=commit),
    )
    return OpenOperation(op_id, started_at, plan, Progress(), ChangeSet())


def _resume(
    ctx: PipelineContext,
    rt: AppRuntime,
    interrupted: InterruptedOperation,
    *,
    plan: SyncPlan,
    desired_digest: str,
    intent: list[InventoryEntry],
) -> OpenOperation | None:
    record, stored = interrupted.record, interrupted.plan
    progress = _progress(interrupted.progress, plan)
    same = stored.get("desiredDigest") == desired_digest and stored.get("planDigest") == plan.digest
    if not same or progress is None:
        why = "the plan is not the same any more (a new commit, render or app spec)"
        ctx.store.finish_operation(
            interrupted.id,
            phase=OperationPhase.FAILED,
            message=f"interrupted by a restart; {why}: a new sync starts from the beginning",
            resources=record.get("resources") or [],
            finished_at=ctx.clock.now(),
        )
        return None
    if intent:  # the write-ahead record, as for a fresh operation (normally listed already)
        ctx.store.save_inventory(rt.name, sorted(set(rt.inventory) | set(intent)))
    step = next_step(plan, progress)
    at = f"step {step.index} ({step.phase}, wave {step.wave})" if step is not None else "its end"
    ctx.record_event(
        rt.name,
        type="Normal",
        reason="SyncResumed",
        message=f"operation {interrupted.id} resumed at {at} after a restart",
    )
    return OpenOperation(
        id=interrupted.id,
        started_at=float(record.get("startedAt") or ctx.clock.now()),
        plan=plan,
        progress=progress,
        changes=ChangeSet.of(_change(c) for c in record.get("resources") or []),
        resumed=True,
    )


def _progress(data: Mapping[str, Any], plan: SyncPlan) -> Progress | None:
    """The stored progress, if it fits the plan (it names only steps the plan has)."""
    try:
        progress = Progress.from_dict(data)
        next_step(plan, progress)
    except (ValueError, TypeError):
        return None
    return progress


def _change(row: Mapping[str, Any]) -> Change:
    return Change(
        ResourceKey.from_id(str(row["id"])),
        Action(str(row["action"])),
        str(row.get("version", "")),
        str(row.get("message", "")),
    )


class OperationRecorder:
    """The executor's ``Recorder``: progress to the store, what it waits for to the app's status."""

    def __init__(self, ctx: PipelineContext, rt: AppRuntime, op_id: int) -> None:
        self._ctx = ctx
        self._rt = rt
        self._op_id = op_id
        self._resources: list[dict[str, Any]] = []

    def progress(self, progress: Progress, changes: ChangeSet, message: str) -> None:
        if self._rt.operation is not None:
            self._rt.operation["message"] = message
        self._resources = [c.to_dict() for c in changes]
        self._ctx.store.save_progress(
            self._op_id, progress=progress.to_dict(), message=message, resources=self._resources
        )
        self._ctx.operation_progressed(self._rt)

    def waiting(self, message: str) -> None:
        """Shown by ``gitward app get`` (the running operation and the Reconciling condition)."""
        if self._rt.operation is not None:
            self._rt.operation["message"] = message
        mark_reconciling(self._rt.status, now=self._ctx.clock.now(), message=message)
        self._ctx.store.update_operation(
            self._op_id, phase=OperationPhase.RUNNING, message=message, resources=self._resources
        )
        self._ctx.operation_progressed(self._rt)

    def terminate_requested(self) -> bool:
        return self._rt.terminate_requested
