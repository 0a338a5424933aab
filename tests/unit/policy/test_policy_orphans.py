"""Which objects of an app's namespaces are orphaned: top-level, unmanaged, not denied, not ignored."""

from __future__ import annotations

from typing import Any

from gitward.core.keys import ResourceKey
from gitward.model import Project
from gitward.policy.orphans import orphaned


def _project(**spec: Any) -> Project:
    return Project.model_validate(
        {"apiVersion": "gitward.dev/v1alpha1", "kind": "Project", "metadata": {"name": "team"}, "spec": spec}
    )


def _obj(kind: str, name: str, namespace: str = "shop", *, api: str = "v1", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace, **meta}}


OBJECTS = [
    _obj("ConfigMap", "stray"),
    _obj("ConfigMap", "kept-by-app"),
    _obj("ConfigMap", "kube-root-ca.crt"),
    _obj("ServiceAccount", "default"),
    _obj("ServiceAccount", "robot"),
    _obj("Service", "kubernetes", "default"),
    _obj("Pod", "web-1", ownerReferences=[{"kind": "ReplicaSet", "name": "web"}]),
    _obj("Deployment", "manual", api="apps/v1"),
    _obj("ResourceQuota", "quota"),
    _obj("ConfigMap", "elsewhere", "other"),
    _obj("Secret", "cache-token"),
]


def _names(project: Project, namespaces: frozenset[str] = frozenset({"shop", "default"})) -> list[str]:
    keys = orphaned(
        OBJECTS,
        project=project,
        namespaces=namespaces,
        managed=lambda obj: obj["metadata"]["name"] == "kept-by-app",
    )
    assert keys == sorted(keys)
    return [k.name for k in keys]


def test_nothing_is_listed_unless_the_project_asks() -> None:
    assert _names(_project()) == []


def test_top_level_unmanaged_objects_of_the_namespaces_are_orphaned() -> None:
    names = _names(_project(orphanedResources={}))
    assert sorted(names) == ["cache-token", "manual", "quota", "robot", "stray"]


def test_denied_kinds_and_ignore_entries_keep_objects_off_the_list() -> None:
    project = _project(
        namespaceResourceBlacklist=[{"group": "", "kind": "ResourceQuota"}],
        orphanedResources={"ignore": [{"kind": "Secret", "name": "*-token"}, {"group": "apps"}]},
    )
    assert sorted(_names(project)) == ["robot", "stray"]


def test_only_the_apps_namespaces_count() -> None:
    assert _names(_project(orphanedResources={}), frozenset({"other"})) == ["elsewhere"]
    keys = orphaned(
        OBJECTS, project=_project(orphanedResources={}), namespaces=frozenset(), managed=lambda o: False
    )
    assert keys == []
    assert ResourceKey("", "ConfigMap", "other", "elsewhere") not in orphaned(
        OBJECTS,
        project=_project(orphanedResources={}),
        namespaces=frozenset({"shop"}),
        managed=lambda o: False,
    )
