"""``gitward run --from-cluster`` runs Argo CD Applications and Flux Kustomizations read as-is.

The cluster serves minimal CRDs for Argo CD's ``Application`` and Flux's ``Kustomization`` and
``GitRepository`` (structural schemas that keep any field: gitward reads them, no Argo CD or Flux
controller runs). Each test drives a real ``gitward run`` with kubectl only: an object created is
synced, an edit is synced without a restart, a deletion removes its objects as the object asked
(Argo CD's resources finalizer: foreground, then gitward takes the finalizer off so the deletion
completes; Flux's ``prune: true``: deleted). gitward never writes the status of these objects (their
own controllers own it); what it records for their apps is told as Events on them, a refusal too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from devtools.gitservers import HttpGitServer
from tests.e2e.crdsupport import cluster_mode_environment, free_form_crd, prepare_cluster_mode
from tests.e2e.process import GitwardProcess, configmap, free_port, unique

ARGO = "argoproj.io/v1alpha1"
KUSTOMIZATION = "kustomize.toolkit.fluxcd.io/v1"
SOURCE = "source.toolkit.fluxcd.io/v1"


FOREIGN_CRDS = [
    free_form_crd("argoproj.io", "v1alpha1", "Application", "applications", label="foreign-kinds"),
    free_form_crd(
        "kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", label="foreign-kinds"
    ),
    free_form_crd(
        "source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories", label="foreign-kinds"
    ),
]


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    git: HttpGitServer
    url: str
    namespace: str
    kube: Any


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("foreign-kinds")
    had_crds, made, namespace = prepare_cluster_mode(kube_cluster, FOREIGN_CRDS, "gw-foreign")
    with HttpGitServer(root / "git") as git:
        git.create_repo(
            "apps",
            {
                "blue/cfg.yaml": configmap("cfg", {"color": "blue"}),
                "green/cfg.yaml": configmap("cfg", {"color": "green"}),
            },
        )
        process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=free_port())
        process.start(
            None,
            source=("--from-cluster", "--namespace", namespace, "--kubeconfig", str(kube_cluster.kubeconfig)),
        )
        try:
            yield World(process, git, git.url("apps"), namespace, kube_cluster)
        finally:
            process.kill()
            # Without gitward running nothing takes a finalizer off: clear them so the CRDs can go.
            for plural in ("applications.argoproj.io", "kustomizations.kustomize.toolkit.fluxcd.io"):
                listed = kube_cluster.kubectl("get", plural, "-n", namespace, "-o", "name", check=False)
                for obj in listed.split():
                    kube_cluster.kubectl(
                        "patch", obj, "-n", namespace, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False,
                    )  # fmt: skip
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            for name in made:
                kube_cluster.kubectl("delete", "crd", name, "--timeout=90s", check=False)
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--timeout=90s", check=False
                )


def _apply(world: World, obj: dict[str, Any]) -> None:
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def _patch(world: World, resource: str, name: str, patch: dict[str, Any]) -> None:
    world.kube.kubectl(
        "patch", resource, name, "-n", world.namespace, "--type=merge", "-p", json.dumps(patch)
    )


def _color(world: World, namespace: str) -> str | None:
    out = world.kube.kubectl(
        "get", "configmap", "cfg", "-n", namespace, "-o", "jsonpath={.data.color}", check=False
    )
    return out.strip() or None


def _events(world: World, name: str, api_version: str) -> list[dict[str, Any]]:
    found = world.kube.get_json(
        "events", "-n", world.namespace, "--field-selector", f"involvedObject.name={name}"
    )
    return [e for e in found.get("items") or [] if e["involvedObject"].get("apiVersion") == api_version]


def _argo_application(world: World, name: str, *, path: str, target: str) -> dict[str, Any]:
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": world.namespace,
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],  # delete the resources first
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": world.url, "targetRevision": "main", "path": path},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": target},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
            },
        },
    }


def test_an_argo_cd_application_is_synced_edited_and_deleted(world: World) -> None:
    name, target = unique("argo-app"), unique("gw-argo-target")
    resource = "applications.argoproj.io"
    _apply(world, _argo_application(world, name, path="blue", target=target))
    try:
        world.gitward.until(lambda: _color(world, target) == "blue")
        assert world.gitward.app(name)["sync"]["status"] == "Synced"

        # Told as Events on the Argo CD object; its status is its own controller's, never written.
        synced = world.gitward.until(
            lambda: next((e for e in _events(world, name, ARGO) if e["reason"] == "Synced"), None)
        )
        assert synced["reportingComponent"] == "gitward"
        assert "status" not in world.kube.get_json(resource, name, "-n", world.namespace)

        _patch(world, resource, name, {"spec": {"source": {"path": "green"}}})
        world.gitward.until(lambda: _color(world, target) == "green")

        # Deleted: the finalizer asked for the resources to go first (foreground); gitward deletes
        # them, then takes the finalizer off, so kubectl's delete returns.
        world.kube.kubectl("delete", resource, name, "-n", world.namespace, "--timeout=90s")
        assert _color(world, target) is None
        assert not world.kube.kubectl("get", resource, "-n", world.namespace, "-o", "name").strip()
        assert name not in {a["name"] for a in world.gitward.ok("app", "list", "-o", "json").json()}
    finally:
        world.kube.kubectl("delete", "namespace", target, "--wait=false", "--ignore-not-found")


def test_an_argo_cd_application_gitward_refuses_says_why_in_an_event(world: World) -> None:
    name = unique("argo-refused")
    app = _argo_application(world, name, path="blue", target=unique("gw-never"))
    app["metadata"].pop("finalizers")
    # namespace metadata gitward does not set: refused, never ignored
    app["spec"].setdefault("syncPolicy", {})["managedNamespaceMetadata"] = {"labels": {"team": "a"}}
    _apply(world, app)
    refused = world.gitward.until(
        lambda: next((e for e in _events(world, name, ARGO) if e["reason"] == "InvalidSpec"), None)
    )
    assert refused["type"] == "Warning"
    assert "managedNamespaceMetadata" in refused["message"]
    world.kube.kubectl("delete", "applications.argoproj.io", name, "-n", world.namespace)


def test_a_flux_kustomization_and_git_repository_are_synced_edited_and_deleted(world: World) -> None:
    source, name, target = unique("fleet"), unique("flux-app"), unique("gw-flux-target")
    world.git.repos["apps"].commit(
        {"blue/cfg.yaml": configmap("cfg", {"color": "navy"})}, message="navy on a branch", branch="navy"
    )
    world.kube.kubectl("create", "namespace", target)
    repository = {
        "apiVersion": SOURCE,
        "kind": "GitRepository",
        "metadata": {"name": source, "namespace": world.namespace},
        "spec": {"url": world.url, "ref": {"branch": "main"}, "interval": "1h"},
    }
    kustomization = {
        "apiVersion": KUSTOMIZATION,
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": world.namespace},
        "spec": {
            "interval": "1h",
            "retryInterval": "2s",
            "path": "./blue",
            "prune": True,
            "targetNamespace": target,
            "sourceRef": {"kind": "GitRepository", "name": source},
        },
    }
    _apply(world, repository)
    _apply(world, kustomization)
    try:
        world.gitward.until(lambda: _color(world, target) == "blue")
        assert "status" not in world.kube.get_json(
            "kustomizations.kustomize.toolkit.fluxcd.io", name, "-n", world.namespace
        )
        world.gitward.until(lambda: any(e["reason"] == "Synced" for e in _events(world, name, KUSTOMIZATION)))

        # An edit of either object is read: the Kustomization's path, then the GitRepository's branch.
        _patch(world, "kustomizations.kustomize.toolkit.fluxcd.io", name, {"spec": {"path": "./green"}})
        world.gitward.until(lambda: _color(world, target) == "green")
        _patch(world, "kustomizations.kustomize.toolkit.fluxcd.io", name, {"spec": {"path": "./blue"}})
        _patch(
            world, "gitrepositories.source.toolkit.fluxcd.io", source, {"spec": {"ref": {"branch": "navy"}}}
        )
        world.gitward.until(lambda: _color(world, target) == "navy")

        # Deleted with prune: true: its objects are deleted, as Flux garbage-collects them.
        world.kube.kubectl(
            "delete", "kustomizations.kustomize.toolkit.fluxcd.io", name, "-n", world.namespace
        )
        world.gitward.until(lambda: _color(world, target) is None)
        assert name not in {a["name"] for a in world.gitward.ok("app", "list", "-o", "json").json()}
    finally:
        world.kube.kubectl(
            "delete", "gitrepositories.source.toolkit.fluxcd.io", source, "-n", world.namespace, check=False
        )
        world.kube.kubectl("delete", "namespace", target, "--wait=false", "--ignore-not-found")
