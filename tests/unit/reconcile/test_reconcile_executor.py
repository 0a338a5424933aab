"""A sync as a pass runs it: the executor driven through the operation's recorder, on a fake clock.

The executor's own step, wait and resume rules are in ``tests/unit/apply``; here the question is
what the app and the state database see while it runs: every wait shown on the app's status and
operation, progress saved after every step (so a restart resumes there), and a terminate request on
the app stopping the wait it is in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_fakekube import FakeKube
from apply_fakeview import FakeView, roll_out

from gitward.apply import ExecutionSettings, Executor, ObjectApply, VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.keys import ResourceKey
from gitward.core.marks import with_marks
from gitward.core.status import OperationPhase
from gitward.model import Application
from gitward.plan import Progress, SyncPlan, build_plan, is_done
from gitward.reconcile.operation import OpenOperation, OperationRecorder, open_operation
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.store import Store
from gitward.testing.clock import FakeClock

pytestmark = pytest.mark.unit

APP = "shop"


class Context:
    """What the recorder and the operation record read of a pass: the store, the clock, the views."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FakeClock()
        self.progressed = 0

    def record_event(self, app: str, **event: Any) -> None:
        pass

    def operation_progressed(self, rt: AppRuntime) -> None:
        self.progressed += 1


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    with Store.open(tmp_path / "state.db") as store:
        yield Context(store)


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


def obj(kind: str, name: str, wave: int) -> dict[str, Any]:
    api = "apps/v1" if kind == "Deployment" else "v1"
    notes = {"gitward.dev/sync-wave": str(wave)}
    found: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": APP}}
    found["metadata"]["annotations"] = notes
    if kind == "Deployment":
        found["spec"] = {"replicas": 1}
    return with_marks(found, APP)


def two_waves() -> SyncPlan:
    return build_plan([obj("Deployment", "db", 0), obj("ConfigMap", "after-db", 1)])


def opened(ctx: Context, rt: AppRuntime, plan: SyncPlan) -> OpenOperation:
    op = open_operation(
        ctx,  # type: ignore[arg-type]
        rt,
        SyncRequest(trigger="sync"),
        plan=plan,
        desired_digest="render-1",
        revision="main",
        commit="c0ffee",
        intent=[],
        started_at=ctx.clock.now(),
    )
    rt.operation = {"id": op.id, "startedAt": op.started_at, "message": ""}
    return op


def run(ctx: Context, rt: AppRuntime, op: OpenOperation, kube: FakeKube, view: FakeView) -> Executor:
    objects = ObjectApply(client=kube, app=APP, live=kube.live, verdicts=rt.verdicts)
    return Executor(
        op.plan,
        objects=objects,
        view=view,
        recorder=OperationRecorder(ctx, rt, op.id),  # type: ignore[arg-type]
        settings=ExecutionSettings(timeout=30.0),
        progress=op.progress,
    )


async def test_a_wave_wait_shows_on_the_app_and_progress_is_saved_after_each_step(ctx: Context) -> None:
    rt, kube = runtime(), FakeKube()
    view = FakeView(kube)
    view.controllers.append(roll_out(after=3))
    seen: list[str] = []
    view.controllers.append(lambda _kube, _now: seen.append(_reconciling(rt)))
    op = opened(ctx, rt, two_waves())
    result = await run(ctx, rt, op, kube, view).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert seen[0].startswith("Sync wave 0: waiting for Deployment.apps/shop/db")
    assert (ctx.store.get_operation(op.id) or {})[
        "phase"
    ] == "Running"  # the pass closes it, not the executor
    _, saved = ctx.store.operation_plan(op.id)
    assert saved is not None
    progress = Progress.from_dict(saved)
    assert progress.completed_steps == {step.index for step in op.plan.steps}
    assert is_done(op.plan, progress)
    assert ctx.progressed >= len(op.plan.steps) + 1  # every step and the wait reached the live views
    assert ResourceKey("", "ConfigMap", APP, "after-db") in kube.objects


async def test_a_terminate_request_on_the_app_stops_the_wave_it_waits_for(ctx: Context) -> None:
    rt, kube = runtime(), FakeKube()
    view = FakeView(kube)
    view.controllers.append(roll_out(after=3, never={"db"}))

    def person_asks_to_stop(_kube: FakeKube, now: float) -> None:
        if now >= 2:
            rt.terminate_requested = True

    view.controllers.append(person_asks_to_stop)
    op = opened(ctx, rt, two_waves())
    result = await run(ctx, rt, op, kube, view).run()
    assert result.phase is OperationPhase.TERMINATED
    assert view.now < 30  # stopped at the request, not at the wave's timeout
    assert ResourceKey("", "ConfigMap", APP, "after-db") not in kube.objects  # the next wave never ran


def _reconciling(rt: AppRuntime) -> str:
    found = [c.message for c in rt.status.conditions if c.type == "Reconciling"]
    return found[0] if found else ""
