"""Pairing, namespace filling and inventory set maths."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.errors import ValidationError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.plan import fill_namespaces, inventory_of, merge_failed, missing, pair, stale


def obj(kind: str, name: str, *, api: str = "v1", ns: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def entry(kind: str, name: str, *, group: str = "", ns: str = "", version: str = "v1") -> InventoryEntry:
    return InventoryEntry(ResourceKey(group, kind, ns, name), version)


def test_pair_desired_with_live_and_missing() -> None:
    web = obj("Deployment", "web", api="apps/v1", ns="a")
    cfg = obj("ConfigMap", "cfg", ns="a")
    live_web = dict(web, status={"replicas": 1})
    other = obj("ConfigMap", "foreign", ns="a")
    live = {ResourceKey.of(live_web): live_web, ResourceKey.of(other): other}
    pairs = pair([web, cfg], live)
    assert [(p.key.name, p.exists) for p in pairs] == [("web", True), ("cfg", False)]
    assert pairs[0].live is live_web
    assert pairs[0].desired is web
    assert [p.key.name for p in missing(pairs)] == ["cfg"]  # foreign live objects are never paired


def test_pair_matches_across_api_versions() -> None:
    desired = obj("HorizontalPodAutoscaler", "h", api="autoscaling/v2", ns="a")
    live_obj = obj("HorizontalPodAutoscaler", "h", api="autoscaling/v1", ns="a")
    assert pair([desired], {ResourceKey.of(live_obj): live_obj})[0].live is live_obj


def test_pair_refuses_duplicates_deterministically() -> None:
    a = obj("ConfigMap", "dup", ns="x")
    b = obj("Service", "s", ns="x")
    with pytest.raises(ValidationError, match=r"more than once: ConfigMap/x/dup, Service/x/s") as err:
        pair([b, a, dict(a), dict(b)], {})
    assert err.value.reason == "DuplicateObject"


def test_pair_empty() -> None:
    assert pair([], {}) == []


def _scope(group: str, kind: str) -> bool | None:
    return {
        ("", "ConfigMap"): True,
        ("", "Namespace"): False,
        ("rbac.authorization.k8s.io", "ClusterRole"): False,
    }.get((group, kind))


@pytest.mark.parametrize(
    ("manifest", "namespace"),
    [
        (obj("ConfigMap", "c"), "dest"),
        (obj("ConfigMap", "c", ns=""), "dest"),
        (obj("ConfigMap", "c", ns="other"), "other"),
        (obj("Namespace", "n", ns="dest"), None),
        (obj("ClusterRole", "r", api="rbac.authorization.k8s.io/v1", ns="x"), None),
        (obj("ClusterRole", "r", api="rbac.authorization.k8s.io/v1"), None),
        (obj("Widget", "w", api="example.com/v1"), "dest"),
        (obj("Widget", "w", api="example.com/v1", ns="mine"), "mine"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "dest"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": None}, "dest"),
    ],
)
def test_fill_namespaces(manifest: dict[str, Any], namespace: str | None) -> None:
    original = repr(manifest)
    [got] = fill_namespaces([manifest], default_namespace="dest", is_namespaced=_scope)
    assert got["metadata"].get("namespace") == namespace
    assert repr(manifest) == original  # input untouched


def test_inventory_of_sorted_deduped_without_hooks() -> None:
    hook = obj("Job", "migrate", api="batch/v1", ns="a")
    hook["metadata"]["annotations"] = {"gitward.dev/hook": "PreSync"}
    manifests = [
        obj("Deployment", "web", api="apps/v1", ns="a"),
        obj("Namespace", "a"),
        obj("ConfigMap", "c", ns="a"),
        hook,
        obj("Deployment", "web", api="apps/v1", ns="a"),
    ]
    assert inventory_of(manifests) == [
        entry("Namespace", "a"),
        entry("ConfigMap", "c", ns="a"),
        entry("Deployment", "web", group="apps", ns="a"),
    ]
    assert entry("Job", "migrate", group="batch", ns="a") in inventory_of(manifests, include_hooks=True)
    assert inventory_of([]) == []


def test_stale_reverse_apply_order_and_version_insensitive() -> None:
    old = [
        entry("Namespace", "a"),
        entry("ConfigMap", "c", ns="a"),
        entry("Widget", "w", group="example.com", ns="a"),
        entry("CustomResourceDefinition", "widgets.example.com", group="apiextensions.k8s.io"),
        entry("Deployment", "web", group="apps", ns="a"),
        entry("HorizontalPodAutoscaler", "h", group="autoscaling", ns="a", version="v1"),
    ]
    new = [entry("HorizontalPodAutoscaler", "h", group="autoscaling", ns="a", version="v2")]
    assert [e.key.kind for e in stale(old, new)] == [
        "Widget",
        "Deployment",
        "ConfigMap",
        "CustomResourceDefinition",
        "Namespace",
    ]
    assert stale(old, old) == []
    assert stale([], new) == []
    assert stale(list(reversed(old)), new) == stale(old, new)


def test_merge_failed_keeps_failed_deletes_owned() -> None:
    new = [entry("ConfigMap", "c", ns="a", version="v1")]
    failed = [entry("Secret", "s", ns="a"), entry("Namespace", "a")]
    assert merge_failed(new, failed) == [entry("Namespace", "a"), entry("Secret", "s", ns="a"), new[0]]
    assert merge_failed(new, []) == new
    upgraded = entry("HorizontalPodAutoscaler", "h", group="autoscaling", ns="a", version="v2")
    old_version = entry("HorizontalPodAutoscaler", "h", group="autoscaling", ns="a", version="v1")
    assert merge_failed([upgraded], [old_version]) == [upgraded]
