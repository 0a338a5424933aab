"""Releasing a removed app's objects (``apply.release``) and adopting objects whose mark names a
removed app (``released`` in ``apply.guard`` and ``apply.ssa``), against the in-memory fake."""

from __future__ import annotations

from typing import Any

from apply_fakekube import FakeKube

from gitward.apply import apply_one, foreign_owner, release
from gitward.apply.verdicts import VerdictCache
from gitward.core.changes import Action
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import MANAGED_BY_LABEL, TRACKING_ANNOTATION, owner_of, tracking_id, with_marks


def cm(name: str, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "web"}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


async def test_release_takes_the_marks_off_only_what_names_the_app() -> None:
    kube = FakeKube()
    mine = kube.put(with_marks(cm("mine"), "old"))
    other = kube.put(with_marks(cm("other"), "new"))
    kept_label = kube.put(with_marks(cm("labelled", **{MANAGED_BY_LABEL: "helm"}), "old"))
    copied = cm("copied")  # a mark naming another object proves nothing
    copied["metadata"]["annotations"] = {
        TRACKING_ANNOTATION: tracking_id("old", ResourceKey("", "ConfigMap", "web", "elsewhere"))
    }
    kube.put(copied)
    entries = [InventoryEntry.of(o) for o in (mine, other, kept_label, copied, cm("gone"))]

    result = {c.key.name: c for c in await release(kube, entries, app="old")}

    assert result["mine"].action is Action.CONFIGURED
    live = kube.objects[ResourceKey.of(mine)]
    assert TRACKING_ANNOTATION not in live["metadata"].get("annotations", {})
    assert MANAGED_BY_LABEL not in live["metadata"].get("labels", {})
    assert live["data"] == {"k": "mine"}  # the object itself is kept
    assert kube.objects[ResourceKey.of(kept_label)]["metadata"]["labels"] == {MANAGED_BY_LABEL: "helm"}
    assert result["other"].action is Action.SKIPPED
    assert "'new'" in result["other"].message
    assert owner_of(kube.objects[ResourceKey.of(other)]) == "new"
    assert result["copied"].action is Action.SKIPPED
    assert TRACKING_ANNOTATION in kube.objects[ResourceKey.of(copied)]["metadata"]["annotations"]
    assert result["gone"].action is Action.UNCHANGED
    assert [w for w, _ in kube.writes].count("patch") == 2


async def test_a_mark_taken_between_the_read_and_the_patch_is_left_alone() -> None:
    kube = FakeKube()
    mine = kube.put(with_marks(cm("mine"), "old"))
    key = ResourceKey.of(mine)
    real_get = kube.get

    async def get_then_taken(*args: Any) -> dict[str, Any] | None:
        seen = await real_get(*args)
        if kube.counts["get"] == 1:  # another app re-marks it right after gitward looked
            kube.mutate(key, {"metadata": {"annotations": {TRACKING_ANNOTATION: tracking_id("new", key)}}})
        return seen

    kube.get = get_then_taken  # type: ignore[method-assign,assignment]
    (change,) = await release(kube, [InventoryEntry.of(mine)], app="old")
    assert change.action is Action.SKIPPED
    assert owner_of(kube.objects[key]) == "new"


def test_a_released_owner_binds_nobody() -> None:
    live = with_marks(cm("x"), "old")
    assert foreign_owner(live, "new") == "old"
    assert foreign_owner(live, "new", released={"old"}) is None
    assert foreign_owner(with_marks(cm("x"), "stranger"), "new", released={"old"}) == "stranger"


async def test_apply_adopts_an_object_marked_by_a_released_app_and_refuses_any_other() -> None:
    kube = FakeKube()
    live = kube.put(with_marks(cm("x"), "old"))
    desired = with_marks(cm("x"), "new")
    refused = await apply_one(kube, desired, live=kube.live(ResourceKey.of(live)), verdicts=VerdictCache())
    assert refused.action is Action.FAILED
    assert "managed by application 'old'" in refused.message

    adopted = await apply_one(
        kube, desired, live=kube.live(ResourceKey.of(live)), verdicts=VerdictCache(), released={"old"}
    )
    assert adopted.action is Action.CONFIGURED
    assert owner_of(kube.objects[ResourceKey.of(live)]) == "new"
