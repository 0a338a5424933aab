"""Project rules, table-driven from testdata/policy_project_cases.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.model import Application, Project
from gitward.policy import check_project, cluster_allowed, destination_allowed

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "policy_project_cases.yaml").read_text())

NAMESPACED = {
    ("", "ConfigMap"): True,
    ("", "Secret"): True,
    ("", "ResourceQuota"): True,
    ("apps", "Deployment"): True,
    ("apps", "StatefulSet"): True,
    ("networking.istio.io", "VirtualService"): True,
    ("", "Namespace"): False,
    ("rbac.authorization.k8s.io", "ClusterRole"): False,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): False,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): False,
}


def is_namespaced(group: str, kind: str) -> bool | None:
    return NAMESPACED.get((group, kind))


def project(name: str) -> Project:
    spec = TABLE["projects"][name] or {}
    return Project.model_validate({"kind": "Project", "metadata": {"name": name}, "spec": spec})


def application(patch: dict[str, Any], project_name: str) -> Application:
    spec: dict[str, Any] = {
        "project": project_name,
        "source": {"repoURL": "https://git.example.com/team-a/web.git"},
        "destination": {"cluster": "prod", "namespace": "team-a-web"},
    }
    for key, value in patch.items():
        spec[key] = {**spec.get(key, {}), **value}
    return Application.model_validate({"metadata": {"name": "web"}, "spec": spec})


DEFAULT_MANIFESTS = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_project_rules(case: dict[str, Any]) -> None:
    proj = project(case["project"])
    app = application(case.get("app", {}), proj.name)
    manifests = case.get("manifests", DEFAULT_MANIFESTS)
    violations = check_project(proj, app, manifests, is_namespaced=is_namespaced)
    got = [[v.rule, None if v.key is None else str(v.key)] for v in violations]
    assert sorted(got, key=str) == sorted(case["expect"], key=str)
    assert all(v.message for v in violations)


def test_every_object_is_checked_not_just_the_first() -> None:
    manifests = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "namespace": "kube-system"}}
        for i in range(5)
    ]
    violations = check_project(
        project("team-a"), application({}, "team-a"), manifests, is_namespaced=is_namespaced
    )
    assert len(violations) == 5


def test_result_order_is_deterministic() -> None:
    manifests = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "kube-system"}}
        for name in ("b", "a", "c")
    ]
    proj, app = project("team-a"), application({"source": {"repoURL": "https://x.example/y.git"}}, "team-a")
    first = check_project(proj, app, manifests, is_namespaced=is_namespaced)
    second = check_project(proj, app, list(reversed(manifests)), is_namespaced=is_namespaced)
    assert first == second
    assert first[0].key is None
    assert [v.key.name for v in first[1:] if v.key] == ["a", "b", "c"]


def test_implicit_default_project_allows_everything() -> None:
    manifests = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "x"},
        },
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "kube-system"}},
    ]
    app = application({"source": {"repoURL": "git@elsewhere:org/x.git"}}, "default")
    assert check_project(Project.implicit_default(), app, manifests, is_namespaced=is_namespaced) == []


@pytest.mark.parametrize(
    ("cluster", "namespace", "allowed"),
    [
        ("prod", "team-a-web", True),
        ("prod", "team-b", False),
        ("staging-eu", "anything", True),
        ("staging-eu", "kube-system", False),
        ("dev", "x", False),
    ],
)
def test_destination_allowed(cluster: str, namespace: str, allowed: bool) -> None:
    assert destination_allowed(project("team-a"), cluster, namespace) is allowed


def test_cluster_denied_entirely() -> None:
    proj = Project.model_validate(
        {
            "kind": "Project",
            "metadata": {"name": "p"},
            "spec": {"destinations": [{"cluster": "*"}, {"cluster": "!prod*", "namespace": "*"}]},
        }
    )
    assert cluster_allowed(proj, "dev")
    assert not cluster_allowed(proj, "prod-eu")
    assert not destination_allowed(proj, "prod-eu", "web")
