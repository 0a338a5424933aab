"""``dependsOn`` cycles: every app on one is refused with its cycle named; apps that only depend on
a cycle are kept (they wait, naming what is missing)."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.errors import ValidationError
from gitward.model import load_objects
from gitward.reconcile.cycles import check_cycles, dependency_cycles, describe, refuse_cycle

pytestmark = pytest.mark.unit

CASES: list[tuple[str, dict[str, list[str]], dict[str, str]]] = [
    ("no dependencies", {"a": [], "b": []}, {}),
    ("a chain", {"a": ["b"], "b": ["c"], "c": []}, {}),
    ("a dependency not defined", {"a": ["ghost"]}, {}),
    ("two apps", {"a": ["b"], "b": ["a"]}, {"a": "a -> b -> a", "b": "b -> a -> b"}),
    (
        "three apps and one that depends on them",
        {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]},
        {"a": "a -> b -> c -> a", "b": "b -> c -> a -> b", "c": "c -> a -> b -> c"},
    ),
    (
        "a member reached only across the search tree",  # r -> w -> r found first; v -> w -> r -> v
        {"r": ["v", "w"], "w": ["r"], "v": ["w"]},
        {"r": "r -> w -> r", "v": "v -> w -> r -> v", "w": "w -> r -> w"},
    ),
    (
        "two separate cycles",
        {"a": ["b"], "b": ["a"], "x": ["y"], "y": ["x"]},
        {
            "a": "a -> b -> a",
            "b": "b -> a -> b",
            "x": "x -> y -> x",
            "y": "y -> x -> y",
        },
    ),
]


@pytest.mark.parametrize(("graph", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dependency_cycles(graph: dict[str, list[str]], expected: dict[str, str]) -> None:
    found = dependency_cycles(graph)
    assert {
        name: describe(cycle).removeprefix("dependsOn cycle: ") for name, cycle in found.items()
    } == expected


def test_a_long_cycle_is_found_without_recursion_and_named_briefly() -> None:
    graph = {f"app{i}": [f"app{(i + 1) % 3000}"] for i in range(3000)}
    found = dependency_cycles(graph)
    assert len(found) == 3000
    message = describe(found["app0"])
    assert message.startswith("dependsOn cycle: app0 -> app1 -> app2")
    assert message.endswith("-> ... (3000 apps) -> app0")


def _app(name: str, *deps: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": "https://git.example.com/a.git", "path": name},
            "dependsOn": [{"name": d} for d in deps],
        },
    }


def test_check_cycles_refuses_the_apps_on_the_cycle_and_keeps_the_rest() -> None:
    config = check_cycles(load_objects([_app("a", "b"), _app("b", "a"), _app("c", "a"), _app("d")]))
    assert [app.name for app in config.applications] == ["c", "d"]
    assert [(e.kind, e.name, e.message) for e in config.errors] == [
        ("Application", "a", "dependsOn cycle: a -> b -> a"),
        ("Application", "b", "dependsOn cycle: b -> a -> b"),
    ]


def test_refuse_cycle_names_the_cycle_through_the_app() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    with pytest.raises(ValidationError, match="dependsOn cycle: b -> c -> a -> b") as refused:
        refuse_cycle("b", graph.get)
    assert refused.value.reason == "DependencyCycle"
    refuse_cycle("d", graph.get)  # depends on a cycle, is not on it
