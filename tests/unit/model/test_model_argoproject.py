"""Argo CD AppProjects read as gitward Projects: every field honoured or refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model import load_objects
from gitward.model.project import GroupKind, ProjectDestination


def appproject(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": "argocd"},
        "spec": spec,
    }


def test_an_appproject_becomes_a_project_with_argo_cd_meaning() -> None:
    config = load_objects(
        [
            appproject(
                description="team A",
                sourceRepos=["https://git.example.com/team-a/*", "!https://git.example.com/team-a/secret"],
                destinations=[
                    {"server": "https://kubernetes.default.svc", "namespace": "team-a-*"},
                    {"name": "prod", "namespace": "team-a"},
                    {"server": "*", "namespace": "shared"},
                ],
                namespaceResourceBlacklist=[{"group": "", "kind": "ResourceQuota"}],
                syncWindows=[
                    {"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["*"]}
                ],
            )
        ]
    )
    assert config.errors == ()
    (project,) = config.projects
    spec = project.spec
    assert project.name == "team-a"
    assert spec.source_repos == ("https://git.example.com/team-a/*", "!https://git.example.com/team-a/secret")
    assert spec.destinations == (
        ProjectDestination(cluster="in-cluster", namespace="team-a-*"),
        ProjectDestination(cluster="prod", namespace="team-a"),
        ProjectDestination(cluster="*", namespace="shared"),
    )
    # Argo CD allows no cluster-scoped kind unless listed: the converted Project says so explicitly
    assert spec.cluster_resource_whitelist == ()
    assert spec.namespace_resource_whitelist is None
    assert spec.namespace_resource_blacklist == (GroupKind(group="", kind="ResourceQuota"),)
    assert [w.kind for w in spec.sync_windows] == ["deny"]


def test_orphaned_resources_are_read_with_their_ignore_entries() -> None:
    doc = appproject(
        sourceRepos=["*"],
        orphanedResources={
            "warn": False,
            "ignore": [{"kind": "ConfigMap", "name": "kube-*"}, {"group": "apps"}],
        },
    )
    (project,) = load_objects([doc]).projects
    orphans = project.spec.orphaned_resources
    assert orphans is not None
    assert orphans.warn is False
    assert [(i.group, i.kind, i.name) for i in orphans.ignore] == [
        (None, "ConfigMap", "kube-*"),
        ("apps", None, None),
    ]
    (default,) = load_objects([appproject(sourceRepos=["*"], orphanedResources={})]).projects
    assert default.spec.orphaned_resources is not None
    assert default.spec.orphaned_resources.warn is True  # Argo CD warns unless told not to
    refused = load_objects([appproject(orphanedResources={"ignore": [{"kind": "x", "namespace": "y"}]})])
    assert "namespace" in refused.errors[0].message


def test_omitted_repos_and_destinations_allow_nothing_as_in_argo_cd() -> None:
    (project,) = load_objects([appproject()]).projects
    assert project.spec.source_repos == ()
    assert project.spec.destinations == ()


def test_a_listed_cluster_kind_is_allowed() -> None:
    doc = appproject(sourceRepos=["*"], clusterResourceWhitelist=[{"group": "*", "kind": "*"}])
    (project,) = load_objects([doc]).projects
    assert project.spec.cluster_resource_whitelist == (GroupKind(group="*", kind="*"),)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"roles": [{"name": "ci", "policies": ["p, proj:team-a:ci, applications, sync, team-a/*, allow"]}]},
         "spec.roles is not supported by gitward: gitward's access control is its own Role"),
        ({"signatureKeys": [{"keyID": "4AEE18F83AFDEB23"}]}, "spec.signatureKeys is not supported"),
        ({"sourceNamespaces": ["team-a"]}, "spec.sourceNamespaces is not supported"),
        ({"destinationServiceAccounts": [{"server": "*", "namespace": "*", "defaultServiceAccount": "x"}]},
         "spec.destinationServiceAccounts is not supported"),
        ({"permitOnlyProjectScopedClusters": True}, "spec.permitOnlyProjectScopedClusters is not supported"),
        ({"clusterResourceWhitelist": [{"group": "", "kind": "Namespace", "name": "x"}]},
         "spec.clusterResourceWhitelist[0].name is not supported"),
        ({"destinations": [{"server": "https://10.0.0.1:6443", "namespace": "*"}]},
         "spec.destinations[0].server 'https://10.0.0.1:6443' is not '*' or the in-cluster address"),
        ({"destinations": [{"server": "*"}]}, "spec.destinations[0].namespace is required"),
        ({"syncWindows": [{"kind": "allow", "schedule": "* * * * *", "duration": "1h", "syncOverrun": True}]},
         "syncOverrun"),
        ({"somethingNew": 1}, "spec.somethingNew is not supported by gitward"),
    ],
)  # fmt: skip
def test_fields_gitward_does_not_honour_are_refused_by_name(spec: dict[str, Any], fragment: str) -> None:
    config = load_objects([appproject(**spec)])
    assert config.projects == ()
    assert [(e.kind, e.name) for e in config.errors] == [("AppProject", "team-a")]
    assert fragment in config.errors[0].message


def test_an_argo_cd_application_names_its_appproject() -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {
            "project": "team-a",
            "source": {"repoURL": "https://git.example.com/team-a/web.git", "path": "deploy"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "team-a-web"},
        },
    }
    config = load_objects([app, appproject(sourceRepos=["*"])])
    assert config.errors == ()
    assert config.application("web") is not None
    assert config.application("web").spec.project == "team-a"  # type: ignore[union-attr]
    assert config.project("team-a") is not None
