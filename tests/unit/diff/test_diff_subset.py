"""is_subset: the cheap no-op check the apply layer runs before any dry-run."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.diff import is_subset

CASES: list[tuple[str, Any, Any, bool]] = [
    ("equal maps", {"a": 1}, {"a": 1}, True),
    ("server added fields", {"a": 1}, {"a": 1, "b": 2}, True),
    ("missing field", {"a": 1, "c": 3}, {"a": 1}, False),
    ("different value", {"a": 1}, {"a": 2}, False),
    ("int equals float", {"replicas": 1}, {"replicas": 1.0}, True),
    ("float equals int", {"cpu": 2.0}, {"cpu": 2}, True),
    ("bool is not int", {"x": True}, {"x": 1}, False),
    ("int is not bool", {"x": 0}, {"x": False}, False),
    ("quantity as given", {"cpu": "500m"}, {"cpu": "0.5"}, False),
    ("int-or-string string vs int", {"port": "80"}, {"port": 80}, False),
    ("int-or-string same", {"port": "http"}, {"port": "http"}, True),
    ("nested defaults", {"s": {"t": {"a": 1}}}, {"s": {"t": {"a": 1, "d": 0}, "u": 1}}, True),
    ("nested difference", {"s": {"t": {"a": 1}}}, {"s": {"t": {"a": 2}}}, False),
    ("list same", {"l": [1, 2]}, {"l": [1, 2]}, True),
    ("list order matters", {"l": [1, 2]}, {"l": [2, 1]}, False),
    ("list longer live", {"l": [1]}, {"l": [1, 2]}, False),
    ("list shorter live", {"l": [1, 2]}, {"l": [1]}, False),
    (
        "list elements subsets",
        {"c": [{"name": "a", "image": "x"}]},
        {"c": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]},
        True,
    ),
    ("list element differs", {"c": [{"name": "a"}]}, {"c": [{"name": "b"}]}, False),
    ("empty list absent live", {"l": []}, {}, True),
    ("empty list vs list", {"l": []}, {"l": [1]}, False),
    ("empty map absent live", {"m": {}}, {}, True),
    ("empty map vs map", {"m": {}}, {"m": {"a": 1}}, True),
    ("null desired absent", {"m": None}, {}, True),
    ("null desired set", {"m": None}, {"m": 3}, True),
    ("map of nulls absent", {"m": {"a": None}}, {}, True),
    ("map vs scalar", {"m": {"a": 1}}, {"m": "x"}, False),
    ("scalar vs map", {"m": "x"}, {"m": {"a": 1}}, False),
    ("list vs scalar", {"m": [1]}, {"m": 1}, False),
    ("string vs none", {"m": "x"}, {"m": None}, False),
    ("string equal", {"m": "x"}, {"m": "x"}, True),
]


@pytest.mark.parametrize(("desired", "live", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_is_subset(desired: Any, live: Any, expected: bool) -> None:
    assert is_subset(desired, live) is expected


def test_is_subset_realistic_deployment() -> None:
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1", "ports": []}]}},
        },
    }
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "labels": {"app": "web"},
            "uid": "u",
            "resourceVersion": "5",
        },
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": 600,
            "template": {
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1", "terminationMessagePath": "/dev/x"}],
                    "restartPolicy": "Always",
                }
            },
        },
        "status": {"replicas": 2},
    }
    assert is_subset(desired, live)
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"  # type: ignore[index]
    assert not is_subset(desired, live)


def test_is_subset_secret_string_data_compares_as_data() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "abc"}}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"p": "YWJj"}}
    assert is_subset(desired, live)
    assert not is_subset(dict(desired, stringData={"p": "abd"}), live)
    # stringData wins over data for the same key, as on the server
    assert is_subset(dict(desired, data={"p": "b2xk"}), live)
    assert "stringData" in desired  # input untouched
    other = {"apiVersion": "example.com/v1", "kind": "Secret", "stringData": {"p": "abc"}}
    assert not is_subset(other, {"apiVersion": "example.com/v1", "kind": "Secret", "data": {"p": "YWJj"}})
