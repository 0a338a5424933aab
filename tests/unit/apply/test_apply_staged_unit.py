"""apply_staged against the in-memory fake: order, marks, only-what-drifted, failures, conflicts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from apply_fakekube import FakeKube

from gitward.apply import CrdNotReady, VerdictCache, apply_staged, ensure_namespace
from gitward.core.changes import Action
from gitward.core.keys import ResourceKey
from gitward.core.marks import MANAGED_BY_LABEL, TRACKING_ANNOTATION, is_owned_by

APP = "shop"


def cm(
    name: str, ns: str = "shop", data: dict[str, str] | None = None, wave: int | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if wave is not None:
        meta["annotations"] = {"gitward.dev/sync-wave": str(wave)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"a": "1"}}


def crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }


def widget(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"size": 1},
    }


NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 1},
}


def manifests() -> list[dict[str, Any]]:
    # Deliberately out of order: apply must sort them.
    return [widget("w1"), DEPLOY, cm("late", wave=5), cm("early", wave=-1), crd(), NS]


async def sync(kube: FakeKube, objs: list[dict[str, Any]], verdicts: VerdictCache, **kw: Any) -> Any:
    return await apply_staged(kube, objs, app=APP, live=kube.live, verdicts=verdicts, **kw)


async def test_first_sync_creates_everything_in_stage_and_wave_order() -> None:
    kube = FakeKube(crd_ready_after=2)
    result = await sync(kube, manifests(), VerdictCache())
    assert {c.action for c in result} == {Action.CREATED}
    order = [k.kind + ":" + k.name for _, k in kube.writes]
    # the plan's order: wave -1; wave 0 in stages (Namespace and CRD, then the Deployment before the
    # custom resource by kind rank); then wave 5
    assert order == [
        "ConfigMap:early",
        "Namespace:shop",
        "CustomResourceDefinition:widgets.example.com",
        "Deployment:web",
        "Widget:w1",
        "ConfigMap:late",
    ]


async def test_every_applied_object_carries_the_marks() -> None:
    kube = FakeKube()
    await sync(kube, manifests(), VerdictCache())
    for obj in kube.objects.values():
        assert is_owned_by(obj, APP)
        assert obj["metadata"]["labels"][MANAGED_BY_LABEL] == "gitward"
        assert TRACKING_ANNOTATION in obj["metadata"]["annotations"]


async def test_noop_resync_sends_no_writes_and_no_dry_runs() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, manifests(), verdicts)
    before = dict(kube.request_counts())
    result = await sync(kube, manifests(), verdicts)
    after = kube.request_counts()
    assert {c.action for c in result} == {Action.UNCHANGED}
    assert after.get("apply", 0) == before.get("apply", 0)
    assert after.get("dryrun", 0) == before.get("dryrun", 0)
    assert result.writes == 0


async def test_status_only_change_is_skipped_by_subset_check_and_recorded() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, [NS, DEPLOY], verdicts)
    key = ResourceKey.of(DEPLOY)
    kube.mutate(key, {"status": {"readyReplicas": 1}})
    dry_runs = kube.counts["dryrun"]
    result = await sync(kube, [NS, DEPLOY], verdicts)
    assert kube.counts["dryrun"] == dry_runs
    assert {c.action for c in result} == {Action.UNCHANGED}
    verdict = verdicts.get(key)
    assert verdict is not None
    assert verdict.resource_version == kube.objects[key]["metadata"]["resourceVersion"]


async def test_changed_manifest_is_configured() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, [NS, cm("c")], verdicts)
    result = await sync(kube, [NS, cm("c", data={"a": "2"})], verdicts)
    assert [c.action for c in result] == [Action.UNCHANGED, Action.CONFIGURED]
    assert kube.objects[ResourceKey.of(cm("c"))]["data"] == {"a": "2"}


async def test_drift_by_another_actor_is_healed() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, [NS, cm("c")], verdicts)
    key = ResourceKey.of(cm("c"))
    kube.mutate(key, {"data": {"a": "hacked"}})
    result = await sync(kube, [NS, cm("c")], verdicts)
    assert result.with_action(Action.CONFIGURED)[0].key == key
    assert kube.objects[key]["data"] == {"a": "1"}


async def test_lost_verdicts_cost_dry_runs_but_no_writes() -> None:
    kube = FakeKube()
    await sync(kube, [NS, cm("c")], VerdictCache())
    applies = kube.counts["apply"]
    result = await sync(kube, [NS, cm("c")], VerdictCache())
    assert kube.counts["apply"] == applies
    assert kube.counts["dryrun"] > 0
    assert {c.action for c in result} == {Action.UNCHANGED}


async def test_exported_verdicts_restore_the_noop_path() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, manifests(), verdicts)
    restored = VerdictCache.from_export(verdicts.export())
    assert restored.export() == verdicts.export()
    counts = dict(kube.request_counts())
    await sync(kube, manifests(), restored)
    assert kube.counts.get("dryrun", 0) == counts.get("dryrun", 0)
    assert kube.counts["apply"] == counts["apply"]


def test_malformed_verdict_rows_are_dropped() -> None:
    cache = VerdictCache.from_export(
        [{"id": "bad"}, {"digest": "x"}, {"id": "ns_n__ConfigMap", "digest": "d"}]
    )
    assert len(cache) == 1


async def test_rejected_object_fails_with_redacted_message_and_blocks_later_waves() -> None:
    kube = FakeKube()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "stringData": {"password": "hunter2-very-secret"},
    }
    kube.reject[ResourceKey.of(secret)] = (
        'Secret "creds" is invalid: data[password]: Invalid value: "hunter2-very-secret": bad'
    )
    result = await sync(kube, [NS, secret, cm("same-wave"), cm("later", wave=1)], VerdictCache())
    by_name = {c.key.name: c for c in result}
    assert by_name["creds"].action is Action.FAILED
    assert "hunter2" not in by_name["creds"].message
    assert "is invalid" in by_name["creds"].message
    assert by_name["same-wave"].action is Action.CREATED
    assert by_name["later"].action is Action.SKIPPED
    assert "wave 0" in by_name["later"].message
    assert ResourceKey.of(cm("later")) not in kube.objects


async def test_base64_secret_value_never_appears_in_failure() -> None:
    kube = FakeKube()
    encoded = base64.b64encode(b"s3cr3t-token-value").decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "tok", "namespace": "shop"},
        "data": {"token": encoded},
    }
    kube.reject[ResourceKey.of(secret)] = f"admission denied value s3cr3t-token-value ({encoded})"
    result = await sync(kube, [NS, secret], VerdictCache())
    message = result.failed[0].message
    assert "s3cr3t-token-value" not in message
    assert encoded not in message


async def test_conflict_names_the_manager_and_force_takes_over() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    await sync(kube, [NS, cm("c")], verdicts)
    key = ResourceKey.of(cm("c"))
    kube.conflicts[key] = "kubectl-edit"
    result = await sync(kube, [NS, cm("c", data={"a": "2"})], verdicts)
    failed = result.failed[0]
    assert failed.key == key
    assert "kubectl-edit" in failed.message
    assert key not in verdicts
    forced = await sync(kube, [NS, cm("c", data={"a": "2"})], verdicts, force=True)
    assert forced.with_action(Action.CONFIGURED)[0].key == key


async def test_failed_namespace_stage_skips_everything_else() -> None:
    kube = FakeKube()
    kube.reject[ResourceKey.of(NS)] = "namespace refused"
    result = await sync(kube, [NS, cm("c")], VerdictCache())
    assert [c.action for c in result] == [Action.FAILED, Action.SKIPPED]


async def test_crd_never_established_raises_waiting_with_changes() -> None:
    kube = FakeKube(crd_ready_after=10**6)
    with pytest.raises(CrdNotReady) as caught:
        await sync(kube, [crd(), widget("w1")], VerdictCache(), crd_timeout=0.0)
    assert "widgets.example.com" in caught.value.message
    assert [c.action for c in caught.value.changes] == [Action.CREATED]
    assert ResourceKey.of(widget("w1")) not in kube.objects


async def test_parallel_within_a_group_is_bounded() -> None:
    kube = FakeKube()
    objs = [NS] + [cm(f"c{i}") for i in range(12)]
    await sync(kube, objs, VerdictCache(), concurrency=3)
    assert 1 < kube.max_in_flight <= 3


async def test_ensure_namespace_creates_a_marked_namespace_once() -> None:
    kube = FakeKube()
    verdicts = VerdictCache()
    created = await ensure_namespace(kube, "dest", app=APP, live=kube.live, verdicts=verdicts)
    assert [c.action for c in created] == [Action.CREATED]
    assert is_owned_by(kube.objects[ResourceKey("", "Namespace", "", "dest")], APP)
    again = await ensure_namespace(kube, "dest", app=APP, live=kube.live, verdicts=verdicts)
    assert [c.action for c in again] == [Action.UNCHANGED]
    assert kube.counts["apply"] == 1


async def test_ensure_namespace_leaves_a_foreign_namespace_unmarked() -> None:
    kube = FakeKube()
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "theirs"}})
    result = await ensure_namespace(kube, "theirs", app=APP, live=kube.live, verdicts=VerdictCache())
    assert [c.action for c in result] == [Action.UNCHANGED]
    assert kube.counts["apply"] + kube.counts["dryrun"] == 0
    assert not is_owned_by(kube.objects[ResourceKey("", "Namespace", "", "theirs")], APP)
