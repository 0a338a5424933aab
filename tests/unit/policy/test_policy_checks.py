"""Duplicates, size limits, the PolicyError message, and the combined pre-apply check."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.errors import PolicyError, Stalled
from gitward.core.keys import ResourceKey
from gitward.model import Application, Project
from gitward.policy import (
    Limits,
    Violation,
    canonical_size,
    check_limits,
    check_render,
    find_duplicates,
    policy_error,
    raise_for,
    validate_render,
)


def cm(name: str, namespace: str = "", api: str = "v1", **data: str) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api, "kind": "ConfigMap", "metadata": meta, "data": data}


def test_duplicates_are_found_regardless_of_api_version() -> None:
    manifests = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"}},
        {"apiVersion": "apps/v1beta2", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "b"}},
        cm("x", "a"),
        cm("x", "a"),
        cm("x", "a"),
    ]
    assert find_duplicates(manifests) == [
        ResourceKey("", "ConfigMap", "a", "x"),
        ResourceKey("apps", "Deployment", "a", "web"),
    ]


def test_no_duplicates() -> None:
    assert find_duplicates([cm("a", "n"), cm("b", "n"), cm("a", "m")]) == []


def test_canonical_size_ignores_key_order() -> None:
    a = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}}
    b = {"metadata": {"name": "x"}, "apiVersion": "v1", "kind": "ConfigMap"}
    assert (
        canonical_size(a)
        == canonical_size(b)
        == len(b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}')
    )


def test_canonical_size_handles_yaml_types() -> None:
    import datetime

    assert canonical_size({"a": datetime.date(2024, 1, 2), 1: "int key"}) > 0


def test_limits_on_count_and_size() -> None:
    manifests = [cm("small"), cm("big", blob="x" * 500), cm("other")]
    violations = check_limits(manifests, Limits(max_objects=2, max_object_bytes=200))
    assert [(v.rule, v.key) for v in violations] == [
        ("TooManyObjects", None),
        ("ObjectTooLarge", ResourceKey("", "ConfigMap", "", "big")),
    ]
    assert "3 objects" in violations[0].message
    assert "the limit is 200" in violations[1].message


def test_within_limits() -> None:
    assert check_limits([cm("a"), cm("b")], Limits(max_objects=2, max_object_bytes=1000)) == []


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(max_objects=0)


def test_policy_error_message_is_readable_and_deterministic() -> None:
    violations = [
        Violation(
            ResourceKey("apps", "Deployment", "b", "web"), "Destination", "namespace 'b' is not permitted"
        ),
        Violation(None, "SourceRepo", "source repository x is not permitted"),
        Violation(ResourceKey("", "ConfigMap", "a", "cfg"), "Duplicate", "rendered more than once"),
    ]
    error = policy_error(violations, app="web")
    assert isinstance(error, PolicyError)
    assert isinstance(error, Stalled)
    assert error.reason == "PolicyViolation"
    assert str(error).splitlines() == [
        "3 policy violations in application 'web'; nothing was applied:",
        "  - [SourceRepo] source repository x is not permitted",
        "  - [Duplicate] ConfigMap/a/cfg: rendered more than once",
        "  - [Destination] Deployment.apps/b/web: namespace 'b' is not permitted",
    ]
    assert str(policy_error(list(reversed(violations)), app="web")) == str(error)


def test_policy_error_caps_its_length() -> None:
    violations = [
        Violation(ResourceKey("", "ConfigMap", "n", f"c{i:03}"), "Duplicate", "dup") for i in range(120)
    ]
    lines = str(policy_error(violations)).splitlines()
    assert len(lines) == 52
    assert lines[-1] == "  ... and 70 more"


def test_raise_for() -> None:
    raise_for([])
    with pytest.raises(PolicyError, match="1 policy violation in"):
        raise_for([Violation(None, "SourceRepo", "nope")], app="a")


def _app(namespace: str = "web") -> Application:
    return Application.model_validate(
        {
            "metadata": {"name": "web"},
            "spec": {
                "project": "team",
                "source": {"repoURL": "https://git.example.com/x.git"},
                "destination": {"namespace": namespace},
            },
        }
    )


def _namespaced(group: str, kind: str) -> bool | None:
    return {"ConfigMap": True, "ClusterRole": False}.get(kind)


def test_check_render_finds_duplicates_after_namespaces_are_filled_in() -> None:
    project = Project.model_validate({"metadata": {"name": "team"}})
    manifests = [cm("cfg"), cm("cfg", "web"), cm("cfg", "other")]
    violations = check_render(project, _app(), manifests, is_namespaced=_namespaced)
    assert [(v.rule, str(v.key)) for v in violations] == [("Duplicate", "ConfigMap/web/cfg")]


def test_check_render_cluster_scoped_namespace_is_ignored_for_duplicates() -> None:
    project = Project.model_validate({"metadata": {"name": "team"}})
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
    manifests = [{**role, "metadata": {"name": "r"}}, {**role, "metadata": {"name": "r", "namespace": "x"}}]
    violations = check_render(project, _app(), manifests, is_namespaced=_namespaced)
    assert [v.rule for v in violations] == ["Duplicate"]


def test_validate_render_refuses_on_any_violation() -> None:
    project = Project.model_validate(
        {
            "metadata": {"name": "team"},
            "spec": {"namespaceResourceBlacklist": [{"group": "", "kind": "ConfigMap"}]},
        }
    )
    with pytest.raises(PolicyError) as info:
        validate_render(
            project, _app(), [cm("a"), cm("b")], is_namespaced=_namespaced, limits=Limits(max_objects=1)
        )
    text = str(info.value)
    assert "[TooManyObjects]" in text
    assert text.count("[NamespacedResource]") == 2
    validate_render(Project.implicit_default(), _app(), [cm("a")], is_namespaced=_namespaced)
