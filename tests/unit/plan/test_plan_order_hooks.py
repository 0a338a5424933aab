"""The flat sync order kept for its callers, wave annotations and hook parsing."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.errors import ValidationError
from gitward.plan import DeletePolicy, HookPhase, build_plan, hook_of, phase_of, sync_order, wave_of


def obj(kind: str, name: str, *, api: str = "v1", ns: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def with_annotations(o: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    o["metadata"]["annotations"] = annotations
    return o


def test_sync_order_by_kind_then_name() -> None:
    manifests = [
        obj("Deployment", "web", api="apps/v1", ns="a"),
        obj("Service", "web", ns="a"),
        obj("Widget", "w", api="example.com/v1", ns="a"),
        obj("ConfigMap", "b", ns="a"),
        obj("ConfigMap", "a", ns="a"),
        obj("CustomResourceDefinition", "widgets.example.com", api="apiextensions.k8s.io/v1"),
        obj("Namespace", "a"),
    ]
    assert names(sync_order(manifests)) == ["a", "widgets.example.com", "a", "b", "web", "web", "w"]
    assert [o["kind"] for o in sync_order(manifests)][:2] == ["Namespace", "CustomResourceDefinition"]


def test_sync_order_is_deterministic_whatever_the_input_order() -> None:
    manifests = [obj("ConfigMap", n, ns="x") for n in ("c", "a", "b")]
    assert sync_order(manifests) == sync_order(list(reversed(manifests)))


@pytest.mark.parametrize(
    ("annotations", "wave"),
    [
        ({}, 0),
        ({"gitward.dev/sync-wave": "3"}, 3),
        ({"gitward.dev/sync-wave": "-2"}, -2),
        ({"gitward.dev/sync-wave": " 5 "}, 5),
        ({"argocd.argoproj.io/sync-wave": "7"}, 7),
        ({"gitward.dev/sync-wave": "1", "argocd.argoproj.io/sync-wave": "9"}, 1),
        ({"helm.sh/hook-weight": "4"}, 0),  # weight counts only on Helm hooks
        ({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "4"}, 4),
    ],
)
def test_wave_of(annotations: dict[str, str], wave: int) -> None:
    assert wave_of(with_annotations(obj("ConfigMap", "c"), annotations)) == wave


@pytest.mark.parametrize("value", ["1.5", "one", "", "1e3"])
def test_wave_of_rejects_non_integers(value: str) -> None:
    bad = with_annotations(obj("ConfigMap", "c", ns="x"), {"gitward.dev/sync-wave": value})
    with pytest.raises(ValidationError, match=r"ConfigMap/x/c: annotation gitward\.dev/sync-wave"):
        wave_of(bad)


def test_sync_order_is_the_plan_order_flattened_with_syncfail_and_skip_last() -> None:
    manifests = [
        with_annotations(obj("Job", "skip", api="batch/v1"), {"gitward.dev/hook": "Skip"}),
        with_annotations(obj("Job", "post", api="batch/v1"), {"gitward.dev/hook": "PostSync"}),
        with_annotations(obj("Job", "pre", api="batch/v1"), {"argocd.argoproj.io/hook": "PreSync"}),
        with_annotations(obj("Deployment", "late", api="apps/v1"), {"gitward.dev/sync-wave": "1"}),
        obj("Deployment", "web", api="apps/v1"),
        obj("ConfigMap", "cfg"),
        with_annotations(obj("ConfigMap", "early"), {"gitward.dev/sync-wave": "-1"}),
        with_annotations(obj("Job", "fail", api="batch/v1"), {"gitward.dev/hook": "SyncFail"}),
    ]
    ordered = names(sync_order(manifests))
    assert ordered == ["pre", "early", "cfg", "web", "late", "post", "fail", "skip"]
    plan = build_plan(manifests)
    assert [o.key.name for s in plan.steps for o in s.objects] == ordered[:-1]


@pytest.mark.parametrize(
    ("annotations", "phases", "policies"),
    [
        ({"gitward.dev/hook": "PreSync"}, (HookPhase.PRE_SYNC,), (DeletePolicy.BEFORE_HOOK_CREATION,)),
        (
            {"argocd.argoproj.io/hook": "PostSync"},
            (HookPhase.POST_SYNC,),
            (DeletePolicy.BEFORE_HOOK_CREATION,),
        ),
        (
            {"gitward.dev/hook": "PreSync, PostSync", "gitward.dev/hook-delete-policy": "HookSucceeded"},
            (HookPhase.PRE_SYNC, HookPhase.POST_SYNC),
            (DeletePolicy.HOOK_SUCCEEDED,),
        ),
        (
            {
                "argocd.argoproj.io/hook": "SyncFail",
                "argocd.argoproj.io/hook-delete-policy": "HookFailed,HookSucceeded",
            },
            (HookPhase.SYNC_FAIL,),
            (DeletePolicy.HOOK_FAILED, DeletePolicy.HOOK_SUCCEEDED),
        ),
        ({"gitward.dev/hook": "Skip"}, (HookPhase.SKIP,), (DeletePolicy.BEFORE_HOOK_CREATION,)),
        (
            {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "hook-succeeded"},
            (HookPhase.PRE_SYNC,),
            (DeletePolicy.HOOK_SUCCEEDED,),
        ),
        ({"helm.sh/hook": "post-upgrade"}, (HookPhase.POST_SYNC,), (DeletePolicy.BEFORE_HOOK_CREATION,)),
        ({"helm.sh/hook": "test"}, (HookPhase.SKIP,), (DeletePolicy.BEFORE_HOOK_CREATION,)),
        ({"helm.sh/hook": "post-rollback"}, (HookPhase.SKIP,), (DeletePolicy.BEFORE_HOOK_CREATION,)),
        (
            {"helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "before-hook-creation,hook-failed"},
            (HookPhase.PRE_SYNC,),
            (DeletePolicy.BEFORE_HOOK_CREATION, DeletePolicy.HOOK_FAILED),
        ),
        (
            {"gitward.dev/hook": "Sync", "helm.sh/hook": "test"},
            (HookPhase.SYNC,),
            (DeletePolicy.BEFORE_HOOK_CREATION,),
        ),
    ],
)
def test_hook_of(
    annotations: dict[str, str], phases: tuple[HookPhase, ...], policies: tuple[DeletePolicy, ...]
) -> None:
    hook = hook_of(with_annotations(obj("Job", "j", api="batch/v1"), annotations))
    assert hook is not None
    assert hook.phases == phases
    assert hook.delete_policies == policies
    assert phase_of(with_annotations(obj("Job", "j", api="batch/v1"), annotations)) is phases[0]


def test_no_hook() -> None:
    assert hook_of(obj("Job", "j")) is None
    crd = with_annotations(obj("CustomResourceDefinition", "c", api="apiextensions.k8s.io/v1"), {})
    assert hook_of(with_annotations(crd, {"helm.sh/hook": "crd-install"})) is None
    assert hook_of({"kind": "Job", "metadata": {"annotations": None}}) is None
    assert phase_of(obj("Job", "j")) is HookPhase.SYNC


@pytest.mark.parametrize(
    "annotations",
    [
        {"gitward.dev/hook": "PreSnyc"},
        {"gitward.dev/hook": "PreSync", "gitward.dev/hook-delete-policy": "Never"},
        {"helm.sh/hook": "pre-instal"},
        {"helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "hook-suceeded"},
    ],
)
def test_hook_of_rejects_unknown_values(annotations: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="unknown value") as err:
        hook_of(with_annotations(obj("Job", "j", api="batch/v1", ns="x"), annotations))
    assert "Job.batch/x/j" in str(err.value)
    assert err.value.reason == "InvalidAnnotation"
