"""The jq path subset of ignoreDifferences.jqPathExpressions: what it names, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.jqpath import JqPath, JqPathError

DOC: dict[str, Any] = {
    "metadata": {"annotations": {"a/b": "1", "plain": "2"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "initContainers": [{"name": "setup"}, {"name": "istio-init", "image": "i"}],
                "containers": [
                    {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]},
                    {"name": "istio-proxy", "image": "proxy", "env": [{"name": "X", "value": "1"}]},
                ],
            }
        },
    },
    "webhooks": [{"clientConfig": {"caBundle": "abc"}}, {"clientConfig": {}}, "not a map"],
}


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        (".spec.replicas", [("spec", "replicas")]),
        (".metadata.annotations.plain", [("metadata", "annotations", "plain")]),
        ('.metadata.annotations["a/b"]', [("metadata", "annotations", "a/b")]),
        ('.metadata.annotations."a/b"', [("metadata", "annotations", "a/b")]),
        ('.["metadata"].annotations', [("metadata", "annotations")]),
        (
            '.spec.template.spec.initContainers[] | select(.name == "istio-init")',
            [("spec", "template", "spec", "initContainers", 1)],
        ),
        (".webhooks[]?.clientConfig.caBundle", [("webhooks", 0, "clientConfig", "caBundle")]),
        (".webhooks[].clientConfig.caBundle", [("webhooks", 0, "clientConfig", "caBundle")]),
        (
            '.spec.template.spec.containers[] | select(.name | startswith("istio")) | .image',
            [("spec", "template", "spec", "containers", 1, "image")],
        ),
        (
            '.spec.template.spec.containers[] | select(.name | endswith("eb") or has("env")) | .name',
            [
                ("spec", "template", "spec", "containers", 0, "name"),
                ("spec", "template", "spec", "containers", 1, "name"),
            ],
        ),
        (
            '.spec.template.spec.containers[] | select((.name == "web") | not)',
            [("spec", "template", "spec", "containers", 1)],
        ),
        (
            '.spec.template.spec.containers[] | select(.name != "web" and (.image | contains("rox")))',
            [("spec", "template", "spec", "containers", 1)],
        ),
        (
            ".spec.template.spec.containers[] | select(.ports[].containerPort == 80)",
            [("spec", "template", "spec", "containers", 0)],
        ),
        (
            ".spec.template.spec.containers[-1].image",
            [("spec", "template", "spec", "containers", 1, "image")],
        ),
        (".spec.template.spec.containers.[0].name", [("spec", "template", "spec", "containers", 0, "name")]),
        (".spec.template.spec.containers[7]", []),
        (".spec.missing.deeper", []),
        (".spec.replicas[]", []),  # iterating a number matches nothing (jq would raise)
        ('.spec.template.spec.containers[] | select(.name == "nobody")', []),
        (".spec | select(.replicas == 3.0) | .replicas", [("spec", "replicas")]),  # numbers by value
        ('.spec | select(.replicas == "3") | .replicas', []),  # a string is not a number
    ],
)
def test_an_expression_names_the_places_it_selects(expression: str, paths: list[tuple[Any, ...]]) -> None:
    assert JqPath.parse(expression).paths(DOC) == paths


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("..", "recursive descent"),
        (".spec | map(.x)", "'map'"),
        ('.spec.containers[] | select(.name | test("^istio"))', "'test'"),
        (".spec.containers[1:2]", "':'"),
        ("$__loc__", "'$'"),
        (".a as $x | $x", "'as'"),
        (".a + 1", "'+'"),
        (".a, .b", "','"),
        (".a[.b]", "only [], [N]"),
        (".a | select(.b == .c)", "expected a string, number"),
        ("select(not .a)", "COND | not"),
        ("keys", "'keys'"),
        (".", "must name a field"),
        ("", "empty"),
        (".a | ", "unexpected end"),
        ("." + "a" * 2000, "longer than"),
    ],
)
def test_an_expression_outside_the_subset_is_refused_naming_the_construct(
    expression: str, named: str
) -> None:
    with pytest.raises(JqPathError) as info:
        JqPath.parse(expression)
    assert named in str(info.value)
