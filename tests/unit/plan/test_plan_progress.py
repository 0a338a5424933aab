"""next_step: where a plan resumes after partial progress, a crash, or a failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.plan import HookPhase, Progress, SyncPlan, build_plan, is_done, next_step, pending_hooks


def manifest(kind: str, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    api = "batch/v1" if kind == "Job" else "v1"
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": "a", "annotations": annotations or {}},
    }


def hook(name: str, phase: str, wave: int = 0) -> dict[str, Any]:
    return manifest("Job", name, {"gitward.dev/hook": phase, "gitward.dev/sync-wave": str(wave)})


@pytest.fixture
def plan() -> SyncPlan:
    return build_plan(
        [
            hook("migrate", "PreSync"),
            hook("seed", "PreSync"),
            hook("around", "PreSync,PostSync"),
            manifest("ConfigMap", "cfg", {"gitward.dev/sync-wave": "-1"}),
            manifest("ConfigMap", "app"),
            hook("smoke", "PostSync"),
            hook("page", "SyncFail"),
            hook("cleanup", "SyncFail", wave=1),
        ]
    )


def test_plan_under_test(plan: SyncPlan) -> None:
    assert [(s.index, s.phase, s.wave) for s in plan.steps] == [
        (0, HookPhase.PRE_SYNC, 0),
        (1, HookPhase.SYNC, -1),
        (2, HookPhase.SYNC, 0),
        (3, HookPhase.POST_SYNC, 0),
        (4, HookPhase.SYNC_FAIL, 0),
        (5, HookPhase.SYNC_FAIL, 1),
    ]


def walk(plan: SyncPlan, progress: Progress) -> list[int]:
    """Indices the executor would run from here on, completing each step it is given."""
    out = []
    while (step := next_step(plan, progress)) is not None:
        out.append(step.index)
        progress = progress.step_done(step)
    assert is_done(plan, progress)
    return out


def test_fresh_plan_runs_the_success_path_in_order(plan: SyncPlan) -> None:
    assert walk(plan, Progress()) == [0, 1, 2, 3]


def test_after_partial_progress_it_resumes_at_the_first_step_not_completed(plan: SyncPlan) -> None:
    assert walk(plan, Progress(completed_steps=frozenset({0, 1}))) == [2, 3]
    assert walk(plan, Progress(completed_steps=frozenset({0, 1, 2, 3}))) == []


def test_a_crash_inside_a_hook_step_reruns_only_the_hooks_not_completed(plan: SyncPlan) -> None:
    first = next_step(plan, Progress())
    assert first is not None
    progress = Progress().hook_done(first, first.hooks[1])  # "migrate" completed, then the process died
    persisted = json.loads(json.dumps(progress.to_dict()))
    resumed = Progress.from_dict(persisted)
    assert resumed == progress
    step = next_step(plan, resumed)
    assert step == first
    assert [h.key.name for h in pending_hooks(step, resumed)] == ["around", "seed"]


def test_a_hook_in_two_phases_runs_in_each(plan: SyncPlan) -> None:
    pre, post = plan.steps[0], plan.steps[3]
    around_pre = next(h for h in pre.hooks if h.key.name == "around")
    progress = Progress(completed_steps=frozenset({0, 1, 2})).hook_done(pre, around_pre)
    assert [h.key.name for h in pending_hooks(post, progress)] == ["around", "smoke"]


def test_a_failed_operation_runs_only_syncfail_steps(plan: SyncPlan) -> None:
    progress = Progress(completed_steps=frozenset({0})).failing()
    assert walk(plan, progress) == [4, 5]
    assert walk(plan, Progress(completed_steps=frozenset({0, 4}), failed=True)) == [5]


def test_failure_with_no_syncfail_hooks_is_done_at_once() -> None:
    plan = build_plan([manifest("ConfigMap", "c")])
    assert next_step(plan, Progress().failing()) is None
    assert next_step(plan, Progress()) == plan.steps[0]


def test_progress_of_another_plan_is_refused(plan: SyncPlan) -> None:
    with pytest.raises(ValueError, match=r"progress names steps \[9\]"):
        next_step(plan, Progress(completed_steps=frozenset({9})))


def test_progress_round_trip_is_sorted_json() -> None:
    progress = Progress(frozenset({3, 1}), frozenset({"Sync:b", "PreSync:a"}), failed=True)
    assert progress.to_dict() == {
        "completedSteps": [1, 3],
        "completedHooks": ["PreSync:a", "Sync:b"],
        "failed": True,
    }
    assert Progress.from_dict(progress.to_dict()) == progress
    assert Progress.from_dict({}) == Progress()
