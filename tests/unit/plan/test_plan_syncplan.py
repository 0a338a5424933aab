"""The sync plan: ordering table (testdata/plan_order_cases.yaml), options, identity, JSON, determinism."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey
from gitward.plan import (
    DeletePolicy,
    HookPhase,
    ObjectOptions,
    PlannedObject,
    SkipReason,
    Step,
    SyncPlan,
    build_plan,
    inventory_of,
    object_defaults,
    options_of,
)

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "plan_order_cases.yaml").read_text())


def render(plan: SyncPlan) -> list[str]:
    """A plan in the table's notation: one line per step."""
    out = []
    for step in plan.steps:
        applies = ", ".join(_entry(o) for o in step.objects)
        line = f"{step.phase} {step.wave}{' [last]' if step.prune_last else ''}: {applies}"
        if step.prunes:
            line += "; prune " + ", ".join(str(o.key) for o in step.prunes)
        out.append(line)
    return out


def _entry(o: PlannedObject) -> str:
    flags = [f for f, on in (("hook", o.hook), ("generated", o.generate_name)) if on]
    return f"{o.key}[{','.join(flags)}]" if flags else str(o.key)


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_ordering_table(case: dict[str, Any]) -> None:
    plan = build_plan(case["objects"], prune=case.get("prune", ()), prune_last=case.get("prune_last", False))
    assert render(plan) == case["steps"]
    assert [f"{s.key}: {s.reason}" for s in plan.skipped] == case.get("skipped", [])
    assert [s.index for s in plan.steps] == list(range(len(plan.steps)))


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_same_input_in_any_order_gives_byte_equal_json(case: dict[str, Any]) -> None:
    expected = build_plan(case["objects"], prune=case.get("prune", ())).to_json()
    rng = random.Random(10)
    for _ in range(5):
        objects, prune = list(case["objects"]), list(case.get("prune", ()))
        rng.shuffle(objects)
        rng.shuffle(prune)
        assert build_plan(copy.deepcopy(objects), prune=prune).to_json() == expected


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_json_round_trip(case: dict[str, Any]) -> None:
    plan = build_plan(case["objects"], prune=case.get("prune", ()), prune_last=case.get("prune_last", False))
    data = json.loads(plan.to_json())
    back = SyncPlan.from_dict(data)
    assert back == plan
    assert back.to_json() == plan.to_json()
    assert back.digest == plan.digest


def test_json_shape_is_what_history_records() -> None:
    objects = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "generateName": "migrate-",
                "namespace": "a",
                "annotations": {
                    "helm.sh/hook": "pre-upgrade",
                    "helm.sh/hook-delete-policy": "hook-succeeded",
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "c",
                "namespace": "a",
                "annotations": {"gitward.dev/sync-options": "Replace=true"},
            },
        },
    ]
    assert build_plan(objects).to_dict() == {
        "format": 1,
        "steps": [
            {
                "index": 0,
                "phase": "PreSync",
                "wave": 0,
                "objects": [
                    {
                        "id": "a_migrate-_batch_Job",
                        "apiVersion": "batch/v1",
                        "hook": True,
                        "deletePolicies": ["HookSucceeded"],
                        "generateName": True,
                    }
                ],
            },
            {
                "index": 1,
                "phase": "Sync",
                "wave": 0,
                "objects": [
                    {"id": "a_c__ConfigMap", "apiVersion": "v1", "hook": False, "options": ["Replace=true"]}
                ],
            },
        ],
        "skipped": [],
    }


def test_plan_digest_changes_with_the_plan() -> None:
    one = build_plan([cm("a")])
    assert one.digest == build_plan([cm("a")]).digest
    assert one.digest != build_plan([cm("a", {"gitward.dev/sync-wave": "1"})]).digest
    assert one.digest != build_plan([cm("b")]).digest


def test_from_dict_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown sync plan format"):
        SyncPlan.from_dict({"format": 99, "steps": []})


def cm(name: str, annotations: dict[str, str] | None = None, *, ns: str = "a") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def job(name: str, annotations: dict[str, str], *, generate: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"generateName" if generate else "name": name, "namespace": "a"}
    meta["annotations"] = annotations
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}


def test_hooks_carry_delete_policies_and_ordinary_objects_none() -> None:
    plan = build_plan(
        [
            job("default", {"gitward.dev/hook": "PreSync"}),
            job(
                "argo",
                {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookFailed"},
            ),
            job(
                "helm",
                {"helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "hook-succeeded,hook-failed"},
            ),
            cm("plain"),
        ]
    )
    policies = {o.key.name: o.delete_policies for s in plan.steps for o in s.objects}
    assert policies == {
        "argo": (DeletePolicy.HOOK_FAILED,),
        "default": (DeletePolicy.BEFORE_HOOK_CREATION,),
        "helm": (DeletePolicy.HOOK_SUCCEEDED, DeletePolicy.HOOK_FAILED),
        "plain": (),
    }


def test_inventory_objects_are_the_ordinary_objects_only() -> None:
    objects = [
        cm("b"),
        cm("a", {"gitward.dev/sync-wave": "2"}),
        job("pre", {"gitward.dev/hook": "PreSync"}),
        job("sync-hook", {"gitward.dev/hook": "Sync"}),
        job("fail", {"gitward.dev/hook": "SyncFail"}),
        job("skip", {"gitward.dev/hook": "Skip"}),
        job("gen-", {"gitward.dev/hook": "PostSync"}, generate=True),
    ]
    plan = build_plan(objects, prune=[cm("gone")])
    assert [o["metadata"]["name"] for o in plan.inventory_objects()] == ["b", "a"]
    assert [e.key.name for e in inventory_of(plan.inventory_objects())] == ["a", "b"]


def test_steps_split_into_stages_namespaces_and_crds_first() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "w.x"},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    fake = {"apiVersion": "example.com/v1", "kind": "Namespace", "metadata": {"name": "fake"}}
    (step,) = build_plan([cm("c"), crd, fake, namespace]).steps
    assert [[o.key.name for o in stage] for stage in step.stages()] == [["a", "w.x"], ["fake", "c"]]
    (only,) = build_plan([cm("c")]).steps
    assert [[o.key.name for o in stage] for stage in only.stages()] == [["c"]]
    assert Step(index=0, phase=HookPhase.SYNC, wave=0).stages() == []


@pytest.mark.parametrize("case", TABLE["options"], ids=lambda c: json.dumps(c["annotations"]))
def test_object_options_table(case: dict[str, Any]) -> None:
    target = cm("o", case["annotations"])
    if "error" in case:
        with pytest.raises(ValidationError) as err:
            options_of(target)
        assert str(err.value).startswith("ConfigMap/a/o: ")
        assert case["error"] in str(err.value)
        assert err.value.reason == "InvalidAnnotation"
        with pytest.raises(ValidationError):
            build_plan([target])
    else:
        options = options_of(target)
        assert options.to_list() == case["expect"]
        assert ObjectOptions.from_list(options.to_list()) == options


def test_app_wide_options_are_the_base_the_annotations_override() -> None:
    defaults = object_defaults({"Replace": "true", "Prune": "false", "CreateNamespace": "true"})
    assert defaults == ObjectOptions(replace=True, prune=False)
    plan = build_plan(
        [cm("inherits"), cm("overrides", {"gitward.dev/sync-options": "Replace=false"})],
        prune=[cm("gone"), cm("allowed", {"gitward.dev/sync-options": "Prune=true"})],
        defaults=defaults,
    )
    (step,) = plan.steps
    assert {o.key.name: o.options.replace for o in step.objects} == {"inherits": True, "overrides": False}
    assert [o.key.name for o in step.prunes] == ["allowed"]
    assert [(s.key.name, s.reason) for s in plan.skipped] == [("gone", SkipReason.PRUNE_DISABLED)]


def test_options_from_list_refuses_what_to_list_never_writes() -> None:
    with pytest.raises(ValueError, match="not an object option"):
        ObjectOptions.from_list(["CreateNamespace=true"])


def test_skipped_objects_say_why() -> None:
    plan = build_plan([job("t", {"helm.sh/hook": "test"}), job("d", {"helm.sh/hook": "pre-delete"})])
    assert {s.key.name: s.message for s in plan.skipped} == {
        "t": "Helm test hook (helm.sh/hook: test): run by helm test, never by a sync",
        "d": "Helm hook with no sync meaning (helm.sh/hook: pre-delete)",
    }
    assert plan.steps == ()


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [job("gen-", {}, generate=True) | {"metadata": {"generateName": "gen-", "namespace": "a"}}],
            "hooks only",
        ),
        (
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "a"}}],
            "metadata.name is empty",
        ),
        ([job("Bad_Prefix-", {"gitward.dev/hook": "PreSync"}, generate=True)], "not a valid prefix"),
        ([cm("twice"), cm("twice")], "planned twice: Sync ConfigMap/a/twice"),
        (
            [
                job("m-", {"gitward.dev/hook": "PreSync"}),
                job("m-", {"gitward.dev/hook": "PreSync"}, generate=True),
            ],
            "planned twice: PreSync Job.batch/a/m-",
        ),
        (
            [cm("w", {"gitward.dev/sync-wave": "soon"})],
            "annotation gitward.dev/sync-wave: 'soon' is not an integer",
        ),
        ([job("h", {"argocd.argoproj.io/hook": "PreSnyc"})], "unknown value 'PreSnyc'"),
    ],
)
def test_invalid_input_is_refused_naming_the_object(objects: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        build_plan(objects)


def test_an_object_both_desired_and_pruned_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="both desired and to be pruned"):
        build_plan([cm("x")], prune=[cm("x")])


def test_generated_hook_identity_is_its_prefix() -> None:
    plan = build_plan([job("migrate-", {"gitward.dev/hook": "PreSync"}, generate=True)])
    (hook,) = plan.steps[0].objects
    assert hook.generate_name
    assert hook.key == ResourceKey("batch", "Job", "a", "migrate-")
    assert plan.steps[0].hook_ref(hook) == "PreSync:a_migrate-_batch_Job"
    assert hook.manifest["metadata"]["generateName"] == "migrate-"


def test_main_and_fail_steps() -> None:
    plan = build_plan(
        [cm("c"), job("f", {"gitward.dev/hook": "SyncFail"}), job("p", {"gitward.dev/hook": "PostSync"})]
    )
    assert [(s.phase, s.index) for s in plan.main_steps] == [(HookPhase.SYNC, 0), (HookPhase.POST_SYNC, 1)]
    assert [(s.phase, s.index) for s in plan.fail_steps] == [(HookPhase.SYNC_FAIL, 2)]
    assert [h.key.name for h in plan.steps[1].hooks] == ["p"]


def test_validate_false_is_refused_on_an_object_gitward_applies_server_side() -> None:
    """A server-side apply refuses undeclared fields whatever fieldValidation says; only objects that
    are created or replaced (hooks, Replace=true) can act on Validate=false."""
    lenient = {"argocd.argoproj.io/sync-options": "Validate=false"}
    with pytest.raises(ValidationError, match="Validate=false needs Replace=true"):
        build_plan([cm("o", lenient)])
    replaced = {"argocd.argoproj.io/sync-options": "Validate=false,Replace=true"}
    hook = {"argocd.argoproj.io/sync-options": "Validate=false", "argocd.argoproj.io/hook": "PreSync"}
    plan = build_plan([cm("o", replaced), cm("h", hook)])
    assert [o.options.validate for s in plan.steps for o in s.objects] == [False, False]
