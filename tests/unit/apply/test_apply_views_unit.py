"""diff_app, rebuild_inventory, the marked-object scan and message redaction against the in-memory fake."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from apply_fakekube import FakeKube

from gitward.apply import diff_app, rebuild_inventory
from gitward.apply._messages import conflict_managers, safe_message
from gitward.apply.inventory import marked_inventories
from gitward.core.errors import ClusterError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import TRACKING_ANNOTATION, tracking_id, with_marks
from gitward.diff import IgnoreRule

APP = "shop"


def cm(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": data,
    }


def secret(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {"k": base64.b64encode(value.encode()).decode()},
    }


async def test_diff_reports_create_update_none_and_delete() -> None:
    kube = FakeKube()
    kube.put(with_marks(cm("same", {"a": "1"}), APP))
    kube.put(with_marks(cm("changed", {"a": "1"}), APP))
    kube.put(with_marks(cm("old", {"a": "1"}), APP))
    desired = [cm("same", {"a": "1"}), cm("changed", {"a": "2"}), cm("new", {"a": "1"})]
    stale = [InventoryEntry.of(cm("old", {}))]
    views = {v.key.name: v for v in await diff_app(kube, desired, app=APP, live=kube.live, stale=stale)}
    assert views["same"].action == "none"
    assert views["changed"].action == "update"
    assert "-  a: '1'" in views["changed"].diff
    assert "+  a: '2'" in views["changed"].diff
    assert views["changed"].paths == ("/data/a",)
    assert views["new"].action == "create"
    assert views["old"].action == "delete"
    assert kube.counts["apply"] == 0  # a diff never writes


async def test_diff_hides_ignored_fields() -> None:
    kube = FakeKube()
    kube.put(with_marks(cm("c", {"a": "1", "b": "x"}), APP))
    rule = IgnoreRule(kind="ConfigMap", json_pointers=("/data/b",))
    views = await diff_app(kube, [cm("c", {"a": "1", "b": "y"})], app=APP, live=kube.live, ignore=[rule])
    assert views[0].action == "none"


async def test_diff_masks_secret_values_but_shows_the_change() -> None:
    kube = FakeKube()
    kube.put(with_marks(secret("s", "old-password-value"), APP))
    views = await diff_app(kube, [secret("s", "new-password-value")], app=APP, live=kube.live)
    assert views[0].action == "update"
    for clear in ("old-password-value", "new-password-value"):
        assert clear not in views[0].diff
        assert base64.b64encode(clear.encode()).decode() not in views[0].diff


async def test_diff_falls_back_to_the_manifest_when_dry_run_fails() -> None:
    kube = FakeKube()
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "shop"},
    }
    views = await diff_app(kube, [widget], app=APP, live=kube.live)
    assert views[0].action == "create"
    assert "dry-run failed" in views[0].message


async def test_rebuild_keeps_only_objects_whose_mark_names_them() -> None:
    kube = FakeKube()
    kube.put(with_marks(cm("mine", {}), APP))
    kube.put(with_marks(cm("theirs", {}), "billing"))
    copied = with_marks(cm("copied", {}), APP)
    copied["metadata"]["annotations"][TRACKING_ANNOTATION] = tracking_id(APP, ResourceKey.of(cm("mine", {})))
    kube.put(copied)
    kube.put(cm("unlabelled", {}))
    entries = await rebuild_inventory(kube, [("v1", "ConfigMap"), ("example.com/v1", "Gone")], app=APP)
    assert entries == [InventoryEntry(ResourceKey("", "ConfigMap", "shop", "mine"), "v1")]


async def test_rebuild_skips_unknown_kinds_and_raises_on_refusal() -> None:
    kube = FakeKube()
    kube.deny_list["Gone"] = 404
    assert await rebuild_inventory(kube, [("example.com/v1", "Gone")], app=APP) == []
    kube.deny_list["Secret"] = 403
    with pytest.raises(ClusterError):
        await rebuild_inventory(kube, [("v1", "Secret")], app=APP)


class _CountingKube(FakeKube):
    """Lists wait a turn of the loop, so listings that overlap can be counted."""

    def __init__(self) -> None:
        super().__init__()
        self.listing = 0
        self.most = 0

    async def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        self.listing += 1
        self.most = max(self.most, self.listing)
        try:
            await asyncio.sleep(0)
            return await super().list(api_version, kind, namespace=namespace, label_selector=label_selector)
        finally:
            self.listing -= 1


async def test_marked_scan_lists_kinds_side_by_side_within_its_limit() -> None:
    kube = _CountingKube()
    kube.put(with_marks(cm("mine", {}), APP))
    kinds = [("v1", "ConfigMap")] + [(f"example.com/v{i}", "Widget") for i in range(12)]
    found = await marked_inventories(kube, kinds, concurrency=4)
    assert found == {APP: [InventoryEntry(ResourceKey("", "ConfigMap", "shop", "mine"), "v1")]}
    assert kube.counts["list"] == 13
    assert kube.most == 4


async def test_marked_scan_raises_the_first_refused_kind_after_the_others() -> None:
    kube = _CountingKube()
    kube.deny_list["Secret"] = 403
    kube.deny_list["Role"] = 500
    kinds = [("v1", "ConfigMap"), ("v1", "Secret"), ("rbac.authorization.k8s.io/v1", "Role")]
    with pytest.raises(ClusterError) as raised:
        await marked_inventories(kube, kinds)
    assert raised.value.status == 403
    assert kube.counts["list"] == 3
    assert kube.listing == 0


def test_conflict_message_names_every_manager_once() -> None:
    text = 'Apply failed with 2 conflicts: conflicts with "helm":\n- .a\nconflicts with "kubectl-edit": .b'
    assert conflict_managers(text) == ["helm", "kubectl-edit"]
    message = safe_message(ClusterError(text, status=409), {"kind": "ConfigMap"})
    assert "helm, kubectl-edit" in message
    assert "force" in message


def test_secret_invalid_value_is_masked_even_when_not_in_the_manifest() -> None:
    error = ClusterError(
        'Secret "s" is invalid: data[x]: Invalid value: "derived-from-secret": bad', status=422
    )
    message = safe_message(error, {"apiVersion": "v1", "kind": "Secret", "data": {}})
    assert "derived-from-secret" not in message
    assert "Invalid value" in message
