"""``deletionPolicy``: its default, and how Argo CD finalizers and Flux prune read into it."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest

from gitward.model import ConversionError, from_argocd, from_flux, load_objects
from gitward.model.application import Application

ARGO: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "guestbook", "namespace": "argocd"},
    "spec": {
        "source": {"repoURL": "https://git.example/apps.git", "path": "guestbook"},
        "destination": {"namespace": "guestbook"},
    },
}


def _flux(spec: dict[str, Any]) -> Application:
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "5m", "path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "fleet"}}
        | spec,
    }
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"url": "https://git.example/fleet.git", "ref": {"branch": "main"}},
    }
    return from_flux(kustomization=kustomization, git_repository=repository)


def _with_finalizers(finalizers: Any) -> dict[str, Any]:
    doc = copy.deepcopy(ARGO)
    if finalizers is None:
        doc["metadata"].pop("finalizers", None)
    else:
        doc["metadata"]["finalizers"] = finalizers
    return doc


def test_the_default_is_orphan_and_the_field_loads() -> None:
    base: dict[str, Any] = {
        "metadata": {"name": "a"},
        "spec": {"source": {"repoURL": "https://git.example/r.git"}},
    }
    assert Application.model_validate(base).spec.deletion_policy == "orphan"
    spec = {**base["spec"], "deletionPolicy": "foreground"}
    app = Application.model_validate({**base, "spec": spec})
    assert app.spec.deletion_policy == "foreground"
    assert app.to_document()["spec"]["deletionPolicy"] == "foreground"
    with pytest.raises(pydantic.ValidationError, match="deletionPolicy"):
        Application.model_validate({**base, "spec": {**base["spec"], "deletionPolicy": "cascade"}})


@pytest.mark.parametrize(
    ("finalizers", "policy"),
    [
        (None, "orphan"),
        ([], "orphan"),
        (["resources-finalizer.argocd.argoproj.io"], "foreground"),
        (["resources-finalizer.argocd.argoproj.io/foreground"], "foreground"),
        (["resources-finalizer.argocd.argoproj.io/background"], "background"),
    ],
)
def test_argo_finalizers_map_to_the_deletion_policy(finalizers: Any, policy: str) -> None:
    assert from_argocd(_with_finalizers(finalizers)).spec.deletion_policy == policy


@pytest.mark.parametrize(
    ("finalizers", "fragment"),
    [
        (["post-delete-finalizer.argocd.argoproj.io"], "'post-delete-finalizer.argocd.argoproj.io'"),
        (["example.com/keep"], "'example.com/keep' is not supported"),
        (
            ["resources-finalizer.argocd.argoproj.io", "resources-finalizer.argocd.argoproj.io/background"],
            "both foreground and background",
        ),
        ("resources-finalizer.argocd.argoproj.io", "must be a list"),
    ],
)
def test_other_finalizers_are_refused_by_name(finalizers: Any, fragment: str) -> None:
    with pytest.raises(ConversionError, match=fragment):
        from_argocd(_with_finalizers(finalizers))


def test_a_refused_finalizer_lists_the_app_as_invalid_with_its_name() -> None:
    loaded = load_objects([_with_finalizers(["example.com/keep"])])
    assert loaded.applications == ()
    (error,) = loaded.errors
    assert (error.kind, error.name) == ("Application", "guestbook")
    assert "example.com/keep" in error.message


@pytest.mark.parametrize(("prune", "policy"), [(True, "background"), (False, "orphan")])
def test_flux_prune_is_garbage_collection_on_deletion(prune: bool, policy: str) -> None:
    app = _flux({"prune": prune})
    assert app.spec.deletion_policy == policy
    assert app.spec.sync_policy.automated is not None
    assert app.spec.sync_policy.automated.prune is prune
