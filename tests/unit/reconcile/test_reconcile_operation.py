"""Opening an operation after a restart: resumed when its plan is the same, else closed and restarted.

Against a real state database (SQLite in a temporary folder); the end-to-end proof with a killed
``gitward run`` is ``tests/e2e/test_sync_resume.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.keys import ResourceKey
from gitward.model import Application
from gitward.plan import Progress, SyncPlan, build_plan
from gitward.reconcile.operation import OperationRecorder, adopt_interrupted, open_operation, plan_document
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.store import Store

APP = "shop"


class Clock:
    def now(self) -> float:
        return 1_000.0

    def monotonic(self) -> float:
        return 5.0


class Context:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = Clock()
        self.events: list[dict[str, Any]] = []
        self.progressed: list[str] = []

    def record_event(self, app: str, **event: Any) -> None:
        self.events.append({"app": app, **event})

    def operation_progressed(self, rt: AppRuntime) -> None:
        self.progressed.append(rt.name)


def runtime() -> AppRuntime:
    app = Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": APP},
            "spec": {"source": {"repoURL": "https://git.example.com/r.git", "path": "p"}},
        }
    )
    return AppRuntime(app=app, status=AppStatus(), verdicts=VerdictCache(), inventory=[])


def plan() -> SyncPlan:
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "a", "annotations": {"gitward.dev/hook": "PreSync"}},
    }
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    return build_plan([hook, cm])


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    with Store.open(tmp_path / "state.db") as store:
        yield Context(store)


def open_(ctx: Context, rt: AppRuntime, the_plan: SyncPlan, *, digest: str = "render-1") -> Any:
    return open_operation(
        ctx,  # type: ignore[arg-type]
        rt,
        SyncRequest(trigger="start"),
        plan=the_plan,
        desired_digest=digest,
        revision="main",
        commit="c0ffee",
        intent=[],
        started_at=ctx.clock.now(),
    )


def interrupted_after_presync(ctx: Context) -> tuple[int, Progress]:
    """A first process: opens an operation, completes the PreSync step, and dies."""
    first = open_(ctx, runtime(), plan())
    presync = first.plan.steps[0]
    progress = (
        Progress().hook_created(presync, presync.objects[0], "migrate").hook_done(presync, presync.objects[0])
    )
    progress = progress.step_done(presync)
    created = ChangeSet.of(
        [Change(ResourceKey("batch", "Job", "a", "migrate"), Action.CREATED, "v1", "hook")]
    )
    OperationRecorder(ctx, runtime(), first.id).progress(progress, created, "PreSync done")  # type: ignore[arg-type]
    return first.id, progress


def test_the_plan_is_stored_with_the_operation(ctx: Context) -> None:
    opened = open_(ctx, runtime(), plan())
    stored, progress = ctx.store.operation_plan(opened.id)
    assert stored == plan_document(plan(), desired_digest="render-1", revision="main", commit="c0ffee")
    assert SyncPlan.from_dict(stored["plan"]) == plan()
    assert progress is None  # nothing ran yet


def test_an_interrupted_operation_with_the_same_plan_is_resumed_where_it_stood(ctx: Context) -> None:
    op_id, progress = interrupted_after_presync(ctx)
    rt = runtime()
    adopt_interrupted(ctx.store, {APP: rt}, now=ctx.clock.now())
    assert rt.interrupted is not None
    assert ctx.store.get_operation(op_id)["phase"] == "Running"  # type: ignore[index]

    resumed = open_(ctx, rt, plan())

    assert resumed.resumed
    assert resumed.id == op_id
    assert resumed.progress == progress
    assert [c.key.name for c in resumed.changes] == ["migrate"]
    assert rt.interrupted is None
    assert ctx.events[-1]["reason"] == "SyncResumed"
    assert "resumed at step 1 (Sync, wave 0)" in ctx.events[-1]["message"]


def test_an_interrupted_operation_whose_render_changed_is_closed_and_a_new_one_starts(ctx: Context) -> None:
    op_id, _ = interrupted_after_presync(ctx)
    rt = runtime()
    adopt_interrupted(ctx.store, {APP: rt}, now=ctx.clock.now())

    fresh = open_(ctx, rt, plan(), digest="render-2")

    assert not fresh.resumed
    assert fresh.id != op_id
    assert fresh.progress == Progress()
    closed = ctx.store.get_operation(op_id)
    assert closed is not None
    assert closed["phase"] == "Failed"
    assert "the plan is not the same any more" in closed["message"]


def test_an_operation_without_a_stored_plan_or_app_is_closed_at_start(ctx: Context) -> None:
    old = ctx.store.start_operation(APP, revision="main", commit="c", trigger="start", started_at=1.0)
    orphan = open_(ctx, runtime(), plan())  # an app that is no longer configured
    adopt_interrupted(ctx.store, {}, now=ctx.clock.now())
    for op_id in (old, orphan.id):
        closed = ctx.store.get_operation(op_id)
        assert closed is not None
        assert closed["phase"] == "Failed"
        assert closed["message"] == "interrupted by a restart; retried"


def test_each_recorded_step_and_wait_is_told_to_the_live_views(ctx: Context) -> None:
    """The event stream (pages, `app watch`, `app sync --wait`) follows a sync step by step."""
    rt = runtime()
    opened = open_(ctx, rt, plan())
    recorder = OperationRecorder(ctx, rt, opened.id)  # type: ignore[arg-type]
    recorder.waiting("Sync wave 0: waiting for Deployment a/web")
    recorder.progress(Progress().step_done(opened.plan.steps[0]), ChangeSet(), "PreSync done")
    assert ctx.progressed == [APP, APP]
