"""normalize, compare with ignore rules, changed_paths and JSON pointer escapes."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.keys import ResourceKey
from gitward.diff import IgnoreRule, changed_paths, compare, normalize
from gitward.diff.ignore import apply_ignores
from gitward.diff.pointer import escape, get, join, remove, split


def _live() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "uid": "1234",
            "resourceVersion": "99",
            "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "deletionTimestamp": None,
            "selfLink": "/apis/apps/v1/x",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "keep": "me",
            },
            "labels": {},
            "ownerReferences": [{"kind": "X", "name": "owner", "uid": "9"}],
        },
        "spec": {"replicas": 2, "selector": None, "template": {"metadata": {"labels": {}}}},
        "status": {"readyReplicas": 2},
    }


def test_normalize_strips_server_fields_and_keeps_owner_references() -> None:
    got = normalize(_live())
    assert got == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "annotations": {"keep": "me"},
            "ownerReferences": [{"kind": "X", "name": "owner", "uid": "9"}],
        },
        "spec": {"replicas": 2},
    }


def test_normalize_does_not_mutate_input() -> None:
    live = _live()
    normalize(live)
    assert live["metadata"]["uid"] == "1234"
    assert "status" in live
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_normalize_drops_only_last_applied_annotation_map_when_empty() -> None:
    obj = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x"}}}
    assert normalize(obj) == {}


@pytest.mark.parametrize(
    ("token", "escaped"),
    [("a/b", "a~1b"), ("a~b", "a~0b"), ("~1", "~01"), ("app.kubernetes.io/name", "app.kubernetes.io~1name")],
)
def test_pointer_escape_round_trip(token: str, escaped: str) -> None:
    assert escape(token) == escaped
    assert split(join([token])) == [token]
    assert join([token]) == "/" + escaped


def test_pointer_split_rejects_relative() -> None:
    with pytest.raises(ValueError, match="JSON pointer"):
        split("spec/replicas")


def test_pointer_remove_and_get() -> None:
    doc: dict[str, Any] = {"a": [{"b": 1}, {"b": 2}], "m": {"x/y": 1, "t~": 2}}
    assert get(doc, "/a/1/b") == 2
    assert remove(doc, "/m/x~1y")
    assert remove(doc, "/m/t~0")
    assert doc["m"] == {}
    assert not remove(doc, "/a/5")
    assert not remove(doc, "/a/01")  # leading zeros are not indices
    assert not remove(doc, "/nope/deeper")
    assert remove(doc, "/a/0")
    assert doc["a"] == [{"b": 2}]


def test_apply_ignores_removes_higher_list_indices_first() -> None:
    doc: dict[str, Any] = {"l": ["a", "b", "c", "d"]}
    apply_ignores(doc, ["/l/1", "/l/2"])
    assert doc["l"] == ["a", "d"]


def test_changed_paths_reports_leaves_and_missing_keys() -> None:
    old = {"spec": {"replicas": 1, "a": {"x": 1}, "l": [1, 2]}, "m": {"k/1": "v"}}
    new = {"spec": {"replicas": 2.0, "b": 1, "l": [1, 3, 4]}, "m": {"k/1": "w"}}
    assert changed_paths(old, new) == [
        "/m/k~11",
        "/spec/a",
        "/spec/b",
        "/spec/l/1",
        "/spec/l/2",
        "/spec/replicas",
    ]


def test_changed_paths_numbers_and_bools() -> None:
    assert changed_paths({"a": 1}, {"a": 1.0}) == []
    assert changed_paths({"a": 1}, {"a": True}) == ["/a"]
    assert changed_paths({"a": "1"}, {"a": 1}) == ["/a"]
    assert changed_paths({"a": []}, {"a": {}}) == ["/a"]


def _desired() -> dict[str, Any]:
    desired = normalize(_live())
    desired["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    desired["spec"]["replicas"] = 5
    return desired


def test_compare_reports_changed_paths() -> None:
    live = _live()
    live["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    diff = compare(_desired(), live)
    assert diff.changed
    assert diff.paths == ("/spec/replicas",)
    assert diff.key == ResourceKey("apps", "Deployment", "prod", "web")


def test_compare_unchanged_after_normalising() -> None:
    live = _live()
    desired = normalize(live)
    desired["metadata"]["labels"] = {}
    desired["spec"]["paused"] = None
    diff = compare(desired, live)
    assert not diff.changed
    assert diff.paths == ()


def test_compare_missing_live() -> None:
    diff = compare(_desired(), None)
    assert diff.changed
    assert diff.missing


@pytest.mark.parametrize(
    ("rule", "ignored"),
    [
        (IgnoreRule(group="apps", kind="Deployment", json_pointers=("/spec/replicas",)), True),
        (IgnoreRule(kind="Deployment", json_pointers=("/spec/replicas",)), True),
        (IgnoreRule(json_pointers=("/spec/replicas",)), True),
        (IgnoreRule(group="*", name="web", namespace="prod", json_pointers=("/spec/replicas",)), True),
        (IgnoreRule(group="", kind="Deployment", json_pointers=("/spec/replicas",)), True),
        (IgnoreRule(group="batch", kind="Deployment", json_pointers=("/spec/replicas",)), False),
        (IgnoreRule(kind="StatefulSet", json_pointers=("/spec/replicas",)), False),
        (IgnoreRule(kind="Deployment", name="api", json_pointers=("/spec/replicas",)), False),
        (IgnoreRule(kind="Deployment", namespace="dev", json_pointers=("/spec/replicas",)), False),
        (IgnoreRule(kind="Deployment", json_pointers=("/spec/other",)), False),
    ],
)
def test_compare_ignore_rules(rule: IgnoreRule, ignored: bool) -> None:
    live = _live()
    live["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    diff = compare(_desired(), live, ignore=[rule])
    assert diff.changed is not ignored


def test_ignore_rule_with_escaped_pointer() -> None:
    live = _live()
    live["metadata"]["labels"] = {"app.kubernetes.io/name": "other"}
    live["spec"]["replicas"] = 5
    rule = IgnoreRule.from_dict(
        {"kind": "Deployment", "jsonPointers": ["/metadata/labels/app.kubernetes.io~1name"]}
    )
    assert not compare(_desired(), live, ignore=[rule]).changed
    assert compare(_desired(), live).paths == ("/metadata/labels/app.kubernetes.io~1name",)


def test_ignore_rule_rejects_bad_pointer() -> None:
    with pytest.raises(ValueError, match="JSON pointer"):
        IgnoreRule(kind="Deployment", json_pointers=("spec/replicas",))
