"""Argo CD and Flux objects read from the cluster (``clustersource.read_objects``): pure, on plain documents.

Objects being deleted are not read (their apps are removed); each foreign object is named for its
app, so its events are told on it; only Argo CD's resources finalizers are ones gitward takes off.
"""

from __future__ import annotations

from typing import Any

from gitward.reconcile.clustersource import argo_finalizers, read_objects

REPO = "https://git.example/org/apps.git"


def _argo(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "uid": f"uid-{name}", **meta},
        "spec": {
            "source": {"repoURL": REPO, "targetRevision": "main", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        },
        "status": {"sync": {"status": "Synced"}, "written": "by Argo CD"},
    }


def _flux() -> list[dict[str, Any]]:
    meta = {"namespace": "flux-system"}
    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "fleet", "uid": "uid-fleet", **meta},
            "spec": {"url": REPO, "ref": {"branch": "main"}, "interval": "1m"},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "infra", "uid": "uid-infra", **meta},
            "spec": {
                "interval": "5m",
                "path": "./infra",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "fleet"},
            },
        },
    ]


def test_foreign_objects_become_apps_named_for_their_objects() -> None:
    read = read_objects([_argo("web"), *_flux()])
    assert sorted(a.name for a in read.config.applications) == ["infra", "web"]
    assert read.config.errors == ()
    assert read.applications == {}  # no gitward Application: no status is written anywhere
    web, infra = read.object_of("web"), read.object_of("infra")
    assert web is not None
    assert (web.api_version, web.namespace, web.uid) == ("argoproj.io/v1alpha1", "argocd", "uid-web")
    assert infra is not None
    assert (infra.kind, infra.uid) == ("Kustomization", "uid-infra")
    assert read.object_of("fleet") is None  # a source is no app


def test_an_object_being_deleted_is_not_read() -> None:
    deleting = _argo(
        "web",
        deletionTimestamp="2024-05-01T00:00:00Z",
        finalizers=["resources-finalizer.argocd.argoproj.io"],
    )
    read = read_objects([deleting, _argo("api")])
    assert [a.name for a in read.config.applications] == ["api"]
    assert read.object_of("web") is None


def test_only_argo_cd_resources_finalizers_are_gitward_s_to_release() -> None:
    finalizers = [
        "resources-finalizer.argocd.argoproj.io",
        "resources-finalizer.argocd.argoproj.io/background",
        "example.com/keep",
    ]
    assert argo_finalizers(_argo("web", finalizers=finalizers)) == finalizers[:2]
    kustomization = _flux()[1]
    kustomization["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    assert argo_finalizers(kustomization) == []
