"""The executor's step, wait and resume logic against the in-memory kube and a fake clock.

Timing logic only: the behaviour a user sees is proven against the real cluster in
``tests/integration/engine/test_engine_hooks_waves.py`` and ``test_engine_sync_options.py``.
"""

from __future__ import annotations

from typing import Any

from apply_fakekube import FakeKube
from apply_fakeview import FakeView, finish_jobs, roll_out

from gitward.apply import ExecutionSettings, Executor, ObjectApply, VerdictCache
from gitward.core.changes import Action, ChangeSet
from gitward.core.keys import ResourceKey
from gitward.core.marks import with_marks
from gitward.core.status import OperationPhase
from gitward.core.steps import Step
from gitward.plan import HookPhase, Progress, SyncPlan, build_plan, is_hook_of
from gitward.plan.hookmarks import HOOK_LABEL

APP = "shop"


class Recorder:
    def __init__(self) -> None:
        self.saved: list[tuple[Progress, str]] = []
        self.waits: list[str] = []
        self.stop_after_waits: int | None = None

    def progress(self, progress: Progress, changes: ChangeSet, message: str) -> None:
        self.saved.append((progress, message))

    def waiting(self, message: str) -> None:
        self.waits.append(message)

    def terminate_requested(self) -> bool:
        return self.stop_after_waits is not None and len(self.waits) >= self.stop_after_waits


def meta(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": "shop", "annotations": dict(annotations or {})}


def cm(name: str, wave: int = 0, **annotations: str) -> dict[str, Any]:
    notes = {"gitward.dev/sync-wave": str(wave), **annotations}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, notes), "data": {"k": "v"}}


def deploy(name: str, wave: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, {"gitward.dev/sync-wave": str(wave)}),
        "spec": {"replicas": 1},
    }


def job(name: str, phase: str, policy: str = "", *, generate: bool = False) -> dict[str, Any]:
    notes = {"gitward.dev/hook": phase}
    if policy:
        notes["gitward.dev/hook-delete-policy"] = policy
    metadata = meta(name, notes)
    if generate:
        metadata["generateName"] = metadata.pop("name")
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": {"template": {}}}


def plan_of(*objects: dict[str, Any], prune: tuple[dict[str, Any], ...] = ()) -> SyncPlan:
    marked = [
        o if "gitward.dev/hook" in o["metadata"]["annotations"] else with_marks(o, APP) for o in objects
    ]
    return build_plan(marked, prune=prune)


def executor(
    kube: FakeKube,
    view: FakeView,
    plan: SyncPlan,
    recorder: Recorder,
    *,
    progress: Progress | None = None,
    **settings: Any,
) -> Executor:
    objects = ObjectApply(client=kube, app=APP, live=kube.live, verdicts=VerdictCache())
    settings.setdefault("timeout", 30.0)
    return Executor(
        plan,
        objects=objects,
        view=view,
        recorder=recorder,
        settings=ExecutionSettings(**settings),
        progress=progress,
    )


def key(kind: str, name: str) -> ResourceKey:
    group = {"Job": "batch", "Deployment": "apps"}.get(kind, "")
    return ResourceKey(group, kind, "shop", name)


async def test_a_plan_of_one_step_without_hooks_never_waits() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    result = await executor(kube, view, plan_of(deploy("web"), cm("cfg")), Recorder()).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert view.naps == 0  # the hot path: apply and done, health is the status's business
    assert {c.action for c in result.changes} == {Action.CREATED}


async def test_presync_job_completes_before_the_first_sync_object_exists() -> None:
    kube, recorder = FakeKube(), Recorder()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=3))
    plan = plan_of(job("migrate", "PreSync"), deploy("web"))
    result = await executor(kube, view, plan, recorder).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert view.created_at[key("Job", "migrate")] == 0.0
    assert view.created_at[key("Deployment", "web")] >= 3.0
    assert any("PreSync: waiting for hook Job.batch/shop/migrate" in w for w in recorder.waits)
    live = kube.objects[key("Job", "migrate")]
    assert live["metadata"]["labels"][HOOK_LABEL]  # a hook's marks, not an app object's
    assert "gitward.dev/tracking-id" not in live["metadata"]["annotations"]
    assert "app.kubernetes.io/managed-by" not in live["metadata"]["labels"]


async def test_the_next_wave_starts_only_when_the_previous_one_is_healthy() -> None:
    kube, recorder = FakeKube(), Recorder()
    view = FakeView(kube)
    view.controllers.append(roll_out(after=4))
    plan = plan_of(deploy("db", wave=0), cm("after-db", wave=1), deploy("web", wave=2))
    result = await executor(kube, view, plan, recorder).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert view.created_at[key("ConfigMap", "after-db")] >= view.created_at[key("Deployment", "db")] + 4
    assert recorder.waits[0].startswith("Sync wave 0: waiting for Deployment.apps/shop/db (Progressing")
    # the last wave does not wait: nothing follows it
    assert view.created_at[key("Deployment", "web")] == view.now


async def test_postsync_runs_only_after_every_sync_object_is_healthy() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers += [roll_out(after=5), finish_jobs(after=1)]
    plan = plan_of(deploy("web"), job("smoke", "PostSync"))
    result = await executor(kube, view, plan, Recorder()).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert view.created_at[key("Job", "smoke")] >= 5.0


async def test_a_failing_presync_hook_leaves_the_sync_objects_untouched_and_runs_syncfail() -> None:
    kube, recorder = FakeKube(), Recorder()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=1, fail={"migrate"}))
    plan = plan_of(job("migrate", "PreSync"), deploy("web"), job("page", "SyncFail"))
    result = await executor(kube, view, plan, recorder).run()
    assert result.phase is OperationPhase.FAILED
    assert "PreSync hook Job.batch/shop/migrate failed: BackoffLimitExceeded" in result.message
    assert key("Deployment", "web") not in kube.objects
    assert key("Job", "page") in kube.objects  # the SyncFail hook ran
    assert recorder.saved[-1][0].failed
    assert result.failure is not None  # what the app's status names: the step, the hook, the reason
    assert (result.failure.step, result.failure.reason) == (Step.HOOK, "HookFailed")
    assert result.failure.where == "hook PreSync Job.batch/shop/migrate"


async def test_a_wave_not_healthy_in_time_fails_naming_it_and_syncfail_gets_its_own_time() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers += [roll_out(after=1, never={"stuck"}), finish_jobs(after=2)]
    plan = plan_of(deploy("stuck", wave=0), cm("later", wave=1), job("page", "SyncFail"))
    result = await executor(kube, view, plan, Recorder(), timeout=10.0).run()
    assert result.phase is OperationPhase.FAILED
    assert result.message.startswith("Sync wave 0: not healthy within 10s: Deployment.apps/shop/stuck")
    assert result.failure is not None
    assert (result.failure.step, result.failure.where, result.failure.reason) == (
        Step.WAVE,
        "wave 0",
        "HealthTimedOut",
    )
    assert key("ConfigMap", "later") not in kube.objects
    assert kube.objects[key("Job", "page")]["status"]["conditions"][0]["type"] == "Complete"


async def test_hook_delete_policies() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=1))
    # an earlier run of "migrate" (BeforeHookCreation, the default) is deleted before the new one
    old = job("migrate", "PreSync")
    plan = plan_of(old, job("seed", "PreSync", "HookSucceeded"), cm("cfg"))
    earlier = plan.steps[0].objects[0]
    kube.put({**old, "metadata": {**old["metadata"], "annotations": {"gitward.dev/hook-of": "x"}}})
    kube.objects[key("Job", "migrate")]["metadata"]["annotations"]["gitward.dev/hook-of"] = (
        f"{APP}:batch/Job:shop/migrate"
    )
    kube.objects[key("Job", "migrate")]["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    result = await executor(kube, view, plan, Recorder()).run()
    assert result.phase is OperationPhase.SUCCEEDED
    writes = [(verb, k.name) for verb, k in kube.writes if k.kind == "Job"]
    assert writes.index(("delete", "migrate")) < writes.index(("create", "migrate"))
    assert is_hook_of(kube.objects[key("Job", "migrate")], APP, earlier.key)  # the new run stays
    assert key("Job", "seed") not in kube.objects  # HookSucceeded: deleted after it succeeded


async def test_an_object_that_is_not_a_run_of_the_hook_is_never_deleted() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    kube.put(job("migrate", "PreSync") | {"metadata": meta("migrate")})  # someone else's Job
    result = await executor(kube, view, plan_of(job("migrate", "PreSync"), cm("cfg")), Recorder()).run()
    assert result.phase is OperationPhase.FAILED
    assert "an object of that name exists and is not a run of this hook" in result.message
    assert ("delete", key("Job", "migrate")) not in kube.writes


async def test_generate_name_hooks_find_their_earlier_runs_by_label() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=1))
    plan = plan_of(job("migrate-", "PreSync", generate=True), cm("cfg"))
    first = await executor(kube, view, plan, Recorder()).run()
    second = await executor(kube, view, plan, Recorder()).run()
    assert first.phase is second.phase is OperationPhase.SUCCEEDED
    jobs = [k.name for k in kube.objects if k.kind == "Job"]
    assert len(jobs) == 1  # the first run was found by its label and deleted before the second
    assert jobs[0].startswith("migrate-")
    assert [c.key.name for c in second.changes if c.action is Action.CREATED and c.key.kind == "Job"] == jobs


async def test_terminate_stops_a_wait_and_no_syncfail_hook_runs() -> None:
    kube, recorder = FakeKube(), Recorder()
    recorder.stop_after_waits = 1
    view = FakeView(kube)
    plan = plan_of(deploy("slow", wave=0), cm("later", wave=1), job("page", "SyncFail"))
    result = await executor(kube, view, plan, recorder).run()
    assert result.phase is OperationPhase.TERMINATED
    assert result.message == "terminated during Sync wave 0"
    assert key("ConfigMap", "later") not in kube.objects
    assert key("Job", "page") not in kube.objects


async def test_a_resumed_plan_goes_on_at_its_step_and_never_reruns_a_completed_hook() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers += [finish_jobs(after=1), roll_out(after=1)]
    plan = plan_of(job("migrate", "PreSync"), deploy("db", wave=0), cm("app", wave=1))
    presync, wave0 = plan.steps[0], plan.steps[1]
    hook = presync.objects[0]
    done = Progress().hook_created(presync, hook, "migrate").hook_done(presync, hook).step_done(presync)
    result = await executor(kube, view, plan, Recorder(), progress=done.step_done(wave0)).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert [k.name for verb, k in kube.writes if verb == "create"] == []  # no hook run again
    assert key("ConfigMap", "app") in kube.objects
    assert key("Deployment", "db") not in kube.objects  # its step was done before the restart


async def test_a_resumed_plan_waits_for_the_hook_run_it_created_instead_of_creating_another() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=2))
    plan = plan_of(job("migrate-", "PreSync", generate=True), cm("cfg"))
    presync = plan.steps[0]
    running = job("migrate-", "PreSync", generate=True)
    running["metadata"]["name"] = "migrate-abcde"
    running["metadata"]["annotations"]["gitward.dev/hook-of"] = f"{APP}:batch/Job:shop/migrate-"
    kube.put(running)
    progress = Progress().hook_created(presync, presync.objects[0], "migrate-abcde")
    result = await executor(kube, view, plan, Recorder(), progress=progress).run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert [k for verb, k in kube.writes if k.kind == "Job"] == []
    assert HookPhase.PRE_SYNC.value + ":" in next(iter(result.progress.completed_hooks))


async def test_progress_is_saved_after_every_step_and_every_hook() -> None:
    kube, recorder = FakeKube(), Recorder()
    view = FakeView(kube)
    view.controllers += [finish_jobs(after=1), roll_out(after=1)]
    plan = plan_of(job("migrate", "PreSync"), deploy("db", wave=0), cm("app", wave=1))
    await executor(kube, view, plan, recorder).run()
    messages = [m for _, m in recorder.saved]
    assert messages == [
        "PreSync: hook Job.batch/shop/migrate created",
        "PreSync: hook Job.batch/shop/migrate completed",
        "PreSync done",
        "Sync wave 0 done",
        "Sync wave 1 done",
    ]
    assert recorder.saved[-1][0].completed_steps == frozenset({0, 1, 2})


async def test_deletions_run_in_their_wave_with_the_propagation_policy_and_prune_last_after_all() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    old = with_marks(cm("old", wave=1), APP)
    last = with_marks(cm("last", **{"gitward.dev/sync-options": "PruneLast=true"}), APP)
    kube.put(old)
    kube.put(last)
    deletes: list[tuple[str, str]] = []
    real_delete = kube.delete

    async def delete(
        api_version: str, kind: str, namespace: str, name: str, *, propagation: str = ""
    ) -> bool:
        deletes.append((name, propagation))
        return await real_delete(api_version, kind, namespace, name, propagation=propagation)

    kube.delete = delete  # type: ignore[method-assign]
    plan = plan_of(cm("a", wave=0), cm("b", wave=2), prune=(old, last))
    result = await executor(kube, view, plan, Recorder(), propagation="Orphan").run()
    assert result.phase is OperationPhase.SUCCEEDED
    assert deletes == [("old", "Orphan"), ("last", "Orphan")]
    order = [k.name for _, k in kube.writes]
    assert order.index("old") < order.index("b") < order.index("last")


async def test_wait_at_end_makes_the_last_step_wait_for_health_too() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(roll_out(after=3, never={"stuck"}))
    done = await executor(kube, view, plan_of(deploy("web")), Recorder(), wait_at_end=True).run()
    assert done.phase is OperationPhase.SUCCEEDED
    assert view.now >= 3.0
    stuck = await executor(
        kube, view, plan_of(deploy("stuck")), Recorder(), wait_at_end=True, timeout=5.0
    ).run()
    assert stuck.phase is OperationPhase.FAILED
    assert stuck.message.startswith("Sync wave 0: not healthy within 5s: Deployment.apps/shop/stuck")


async def test_health_checks_are_waited_for_when_the_success_path_ends() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(roll_out(after=2))
    kube.put(deploy("elsewhere"))  # not the app's: someone else's rollout the app must wait for
    checks = (("apps/v1", key("Deployment", "elsewhere")),)
    done = await executor(kube, view, plan_of(cm("cfg")), Recorder(), health_checks=checks).run()
    assert done.phase is OperationPhase.SUCCEEDED
    assert view.now >= 2.0
    absent = (("apps/v1", key("Deployment", "absent")),)
    failed = await executor(
        kube, view, plan_of(cm("cfg")), Recorder(), health_checks=absent, timeout=3.0
    ).run()
    assert failed.phase is OperationPhase.FAILED
    assert failed.message.startswith(
        "health checks: not healthy within 3s: Deployment.apps/shop/absent (Missing"
    )


async def test_a_refused_delete_does_not_stop_later_waves_but_fails_the_operation() -> None:
    kube = FakeKube()
    view = FakeView(kube)
    view.controllers.append(finish_jobs(after=1))
    doomed = with_marks(cm("doomed"), APP)
    kube.put(doomed)
    kube.deny_delete.add(key("ConfigMap", "doomed"))
    plan = plan_of(cm("a", wave=0), cm("b", wave=1), job("page", "SyncFail"), prune=(doomed,))
    result = await executor(kube, view, plan, Recorder()).run()
    assert result.phase is OperationPhase.FAILED
    assert result.message.startswith("1 deletions failed: ConfigMap/shop/doomed")
    assert key("ConfigMap", "b") in kube.objects
    assert key("Job", "page") in kube.objects
