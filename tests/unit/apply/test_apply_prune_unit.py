"""prune against the in-memory fake: ownership proof, order, refusals, finalizers."""

from __future__ import annotations

from typing import Any

from apply_fakekube import FakeKube

from gitward.apply import prune
from gitward.core.changes import Action
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import TRACKING_ANNOTATION, tracking_id, with_marks

APP = "shop"


def obj(api_version: str, kind: str, name: str, ns: str = "shop") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}}


def owned(kube: FakeKube, o: dict[str, Any], app: str = APP) -> InventoryEntry:
    kube.put(with_marks(o, app))
    return InventoryEntry.of(o)


async def run(kube: FakeKube, stale: list[InventoryEntry]) -> dict[str, Any]:
    result = await prune(kube, stale, app=APP, live=kube.live)
    return {c.key.name: c for c in result}


async def test_deletes_owned_stale_objects_dependents_first() -> None:
    kube = FakeKube()
    stale = [
        owned(kube, obj("v1", "Namespace", "shop", ns="")),
        owned(kube, obj("v1", "ConfigMap", "cfg")),
        owned(kube, obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "w.example.com", ns="")),
        owned(kube, obj("apps/v1", "Deployment", "web")),
        owned(kube, obj("example.com/v1", "Widget", "w1")),
    ]
    result = await run(kube, stale)
    assert {c.action for c in result.values()} == {Action.DELETED}
    order = [k.kind for verb, k in kube.writes if verb == "delete"]
    assert order == ["Widget", "Deployment", "ConfigMap", "CustomResourceDefinition", "Namespace"]
    assert not kube.objects


async def test_foreign_object_with_copied_mark_is_never_deleted() -> None:
    kube = FakeKube()
    ours = obj("v1", "ConfigMap", "ours")
    foreign = obj("v1", "ConfigMap", "foreign")
    # The mark is copied verbatim from one of our objects: it names "ours", not "foreign".
    foreign["metadata"]["annotations"] = {TRACKING_ANNOTATION: tracking_id(APP, ResourceKey.of(ours))}
    kube.put(foreign)
    result = await run(kube, [InventoryEntry.of(foreign)])
    assert result["foreign"].action is Action.SKIPPED
    assert ResourceKey.of(foreign) in kube.objects
    assert kube.counts["delete"] == 0


async def test_object_of_another_app_or_unmarked_is_skipped() -> None:
    kube = FakeKube()
    other = owned(kube, obj("v1", "ConfigMap", "other"), app="billing")
    kube.put(obj("v1", "ConfigMap", "plain"))
    result = await run(kube, [other, InventoryEntry.of(obj("v1", "ConfigMap", "plain"))])
    assert result["other"].action is Action.SKIPPED
    assert "billing" in result["other"].message
    assert result["plain"].action is Action.SKIPPED
    assert "no tracking mark" in result["plain"].message
    assert len(kube.objects) == 2


async def test_objects_not_in_the_stale_list_are_untouched() -> None:
    kube = FakeKube()
    stale = owned(kube, obj("v1", "ConfigMap", "old"))
    owned(kube, obj("v1", "ConfigMap", "keep"))
    await run(kube, [stale])
    assert [k.name for k in kube.objects] == ["keep"]


async def test_already_gone_counts_as_deleted() -> None:
    kube = FakeKube()
    result = await run(kube, [InventoryEntry.of(obj("v1", "ConfigMap", "gone"))])
    assert result["gone"].action is Action.DELETED
    assert result["gone"].message == "already gone"


async def test_refused_delete_fails_so_it_stays_in_the_inventory() -> None:
    kube = FakeKube()
    entry = owned(kube, obj("v1", "ConfigMap", "guarded"))
    kube.deny_delete.add(entry.key)
    result = await run(kube, [entry])
    assert result["guarded"].action is Action.FAILED
    assert "denied" in result["guarded"].message
    assert entry.key in kube.objects


async def test_stuck_finalizer_is_deleted_with_a_note_and_not_asked_twice() -> None:
    kube = FakeKube()
    o = obj("v1", "ConfigMap", "held")
    o["metadata"]["finalizers"] = ["example.com/cleanup"]
    entry = owned(kube, o)
    kube.finalize.add(entry.key)
    first = await run(kube, [entry])
    assert first["held"].action is Action.DELETED
    assert "example.com/cleanup" in first["held"].message
    second = await run(kube, [entry])
    assert second["held"].action is Action.DELETED
    assert kube.counts["delete"] == 1


async def test_object_missing_from_the_cache_is_read_before_deciding() -> None:
    kube = FakeKube()
    entry = owned(kube, obj("v1", "ConfigMap", "uncached"))
    result = await prune(kube, [entry], app=APP, live=lambda key: None)
    assert [c.action for c in result] == [Action.DELETED]
    assert kube.counts["get"] == 1
    assert entry.key not in kube.objects
