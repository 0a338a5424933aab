"""apply against the real local cluster: staged apply, the zero-request no-op, drift, prune, refusals.

Each test works in its own namespace (and its own CRD group) and removes them afterwards. The live
view handed to apply is a fresh read of the desired objects, the same data the cluster cache holds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from tests.integration.cluster_support import configmap_delete_guard

from gitward.apply import VerdictCache, apply_staged, prune, rebuild_inventory
from gitward.cluster.cache import ClusterCache
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.changes import Action
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import TRACKING_ANNOTATION, is_owned_by, tracking_id

pytestmark = pytest.mark.integration

APP = "apply-it"


@pytest.fixture
def ns(kube_cluster: Any) -> Iterator[str]:
    name = f"apply-{uuid.uuid4().hex[:8]}"
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


async def snapshot(client: LightkubeClient, manifests: Sequence[dict[str, Any]]) -> dict[ResourceKey, Any]:
    """What the cluster cache would hold for these objects right now."""
    out: dict[ResourceKey, Any] = {}
    for m in manifests:
        key = ResourceKey.of(m)
        try:
            out[key] = await client.get(m["apiVersion"], key.kind, key.namespace, key.name)
        except Exception:  # kind not served yet (CRD not applied): not live either
            out[key] = None
    return out


async def sync(
    client: LightkubeClient, manifests: list[dict[str, Any]], verdicts: VerdictCache, **kw: Any
) -> Any:
    live = await snapshot(client, manifests)
    return await apply_staged(client, manifests, app=APP, live=live.get, verdicts=verdicts, **kw)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(ns: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def crd(group: str) -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
            ],
        },
    }


async def test_staged_apply_then_noop_makes_no_writes_and_no_dry_runs(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    group = f"{ns}.example.com"
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": ns}}
    widget["spec"] = {"size": 3}
    manifests = [widget, configmap(ns, "settings", {"mode": "fast"}), crd(group), namespace(ns)]
    verdicts = VerdictCache()
    try:
        first = await sync(client, manifests, verdicts)
        assert {c.action for c in first} == {Action.CREATED}, first.changes
        live_widget = kube_cluster.get_json(f"widgets.{group}", "-n", ns, "w1")
        assert live_widget["spec"] == {"size": 3}
        assert is_owned_by(live_widget, APP)

        before = dict(client.request_counts())
        second = await sync(client, manifests, verdicts)
        after = client.request_counts()
        assert {c.action for c in second} == {Action.UNCHANGED}
        assert after["apply"] == before["apply"]
        assert after["dryrun"] == before["dryrun"]
    finally:
        kube_cluster.kubectl("delete", "crd", f"widgets.{group}", "--ignore-not-found", "--wait=false")


async def test_drift_by_an_update_is_taken_back_and_by_another_applier_only_with_force(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    manifests = [namespace(ns), configmap(ns, "settings", {"mode": "fast"})]
    verdicts = VerdictCache()
    await sync(client, manifests, verdicts)
    patch = json.dumps({"data": {"mode": "slow"}})
    kube_cluster.kubectl("patch", "configmap", "settings", "-n", ns, "-p", patch, "--field-manager=intruder")

    taken_back = await sync(client, manifests, verdicts)
    assert [c.key.name for c in taken_back.with_action(Action.CONFIGURED)] == ["settings"]
    assert kube_cluster.get_json("configmap", "-n", ns, "settings")["data"] == {"mode": "fast"}

    theirs = configmap(ns, "settings", {"mode": "slow"})
    kube_cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=intruder",
        "-f",
        "-",
        stdin=json.dumps(theirs),
    )
    refused = await sync(client, manifests, verdicts)
    assert [c.key.name for c in refused.failed] == ["settings"]
    assert "intruder" in refused.failed[0].message

    healed = await sync(client, manifests, verdicts, force=True)
    assert [c.key.name for c in healed.with_action(Action.CONFIGURED)] == ["settings"]
    assert kube_cluster.get_json("configmap", "-n", ns, "settings")["data"] == {"mode": "fast"}


async def test_foreign_change_to_unmanaged_fields_costs_nothing(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    manifests = [namespace(ns), configmap(ns, "settings", {"mode": "fast"})]
    verdicts = VerdictCache()
    await sync(client, manifests, verdicts)
    kube_cluster.kubectl("label", "configmap", "settings", "-n", ns, "extra=yes")
    before = dict(client.request_counts())
    result = await sync(client, manifests, verdicts)
    assert {c.action for c in result} == {Action.UNCHANGED}
    assert client.request_counts()["dryrun"] == before["dryrun"]
    assert client.request_counts()["apply"] == before["apply"]


async def test_prune_deletes_only_marked_objects_in_the_stale_list(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    old, keep = configmap(ns, "old", {"a": "1"}), configmap(ns, "keep", {"a": "1"})
    await sync(client, [namespace(ns), old, keep], VerdictCache())
    foreign = configmap(ns, "foreign", {"a": "1"})
    foreign["metadata"]["annotations"] = {TRACKING_ANNOTATION: tracking_id(APP, ResourceKey.of(old))}
    kube_cluster.kubectl("apply", "-f", "-", stdin=json.dumps(foreign))

    stale = [InventoryEntry.of(old), InventoryEntry.of(foreign)]
    live = await snapshot(client, [old, foreign])
    result = {c.key.name: c for c in await prune(client, stale, app=APP, live=live.get)}
    assert result["old"].action is Action.DELETED
    assert result["foreign"].action is Action.SKIPPED
    names = {i["metadata"]["name"] for i in kube_cluster.get_json("configmaps", "-n", ns)["items"]}
    assert {"keep", "foreign"} <= names
    assert "old" not in names


GUARD_EXPRESSION = "!has(oldObject.metadata.labels) || !('guard' in oldObject.metadata.labels)"


def guard_policy(name: str, ns: str) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy refusing DELETE of labelled ConfigMaps in one namespace."""
    return configmap_delete_guard(
        name,
        expression=GUARD_EXPRESSION,
        message="deletion refused by the guard policy",
        match_resources={"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}},
    )


async def wait_until_policy_denies(kube_cluster: Any, ns: str, name: str) -> None:
    """Policies take effect asynchronously; a server-side dry-run delete shows when they do."""
    for _ in range(120):
        out = kube_cluster.kubectl("delete", "configmap", name, "-n", ns, "--dry-run=server", check=False)
        if "deleted" not in out:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("the admission policy never took effect")


async def test_delete_refused_by_admission_stays_failed(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    guarded = configmap(ns, "guarded", {"a": "1"})
    guarded["metadata"]["labels"] = {"guard": "yes"}
    await sync(client, [namespace(ns), guarded], VerdictCache())
    policy_name = f"guard-{ns}"
    kube_cluster.kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": guard_policy(policy_name, ns)}),
    )
    try:
        await wait_until_policy_denies(kube_cluster, ns, "guarded")
        live = await snapshot(client, [guarded])
        result = await prune(client, [InventoryEntry.of(guarded)], app=APP, live=live.get)
        assert [c.action for c in result] == [Action.FAILED]
        assert "deletion refused by the guard policy" in result.changes[0].message
        assert kube_cluster.get_json("configmap", "-n", ns, "guarded")["metadata"]["name"] == "guarded"
    finally:
        kube_cluster.kubectl("delete", "validatingadmissionpolicybinding", policy_name, "--ignore-not-found")
        kube_cluster.kubectl("delete", "validatingadmissionpolicy", policy_name, "--ignore-not-found")


async def test_stuck_finalizer_counts_as_deleted_and_is_reported(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    held = configmap(ns, "held", {"a": "1"})
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await sync(client, [namespace(ns), held], VerdictCache())
    try:
        live = await snapshot(client, [held])
        result = await prune(client, [InventoryEntry.of(held)], app=APP, live=live.get)
        assert [c.action for c in result] == [Action.DELETED]
        assert "example.com/hold" in result.changes[0].message
        assert kube_cluster.get_json("configmap", "-n", ns, "held")["metadata"].get("deletionTimestamp")
    finally:
        kube_cluster.kubectl(
            "patch", "configmap", "held", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
        )


async def test_inventory_is_rebuilt_from_marks_alone(
    client: LightkubeClient, kube_cluster: Any, ns: str
) -> None:
    mine = configmap(ns, "mine", {"a": "1"})
    await sync(client, [namespace(ns), mine], VerdictCache())
    copied = configmap(ns, "copied", {"a": "1"})
    copied["metadata"]["annotations"] = {TRACKING_ANNOTATION: tracking_id(APP, ResourceKey.of(mine))}
    copied["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "gitward"}
    kube_cluster.kubectl("apply", "-f", "-", stdin=json.dumps(copied))

    entries = await rebuild_inventory(client, [("v1", "ConfigMap"), ("v1", "Namespace")], app=APP)
    ours = [e for e in entries if e.key.namespace in (ns, "") and e.key.name in ("mine", "copied", ns)]
    assert ours == sorted([InventoryEntry.of(mine), InventoryEntry.of(namespace(ns))])


async def test_noop_through_the_watch_fed_cache_makes_no_writes_and_no_dry_runs(
    client: LightkubeClient, ns: str
) -> None:
    manifests = [namespace(ns), configmap(ns, "a", {"k": "1"}), configmap(ns, "b", {"k": "2"})]
    verdicts = VerdictCache()
    cache = ClusterCache(client)
    try:
        await cache.ensure_watched("v1", "Namespace")
        await cache.ensure_watched("v1", "ConfigMap")
        first = await apply_staged(client, manifests, app=APP, live=cache.get, verdicts=verdicts)
        assert {c.action for c in first} == {Action.CREATED}
        # The cache learns about the writes through its watches; wait until it has all of them.
        for _ in range(200):
            if all(cache.get(ResourceKey.of(m)) is not None for m in manifests):
                break
            await asyncio.sleep(0.05)
        before = dict(client.request_counts())
        second = await apply_staged(client, manifests, app=APP, live=cache.get, verdicts=verdicts)
        assert {c.action for c in second} == {Action.UNCHANGED}
        assert client.request_counts()["apply"] == before["apply"]
        assert client.request_counts()["dryrun"] == before["dryrun"]
    finally:
        await cache.stop()
