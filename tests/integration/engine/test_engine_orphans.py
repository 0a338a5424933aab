"""Orphaned objects on the real cluster: listed when the Project asks, never touched.

Objects made with kubectl in an app's namespace are listed on the app (``app get``, the API) when
its Project has ``orphanedResources``; what a Deployment owns, what every namespace has, and what an
``ignore`` entry names are not; a sync with prune leaves them exactly as they were; the warning
condition comes and goes with them; an app of a project without the field lists nothing.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration

STRAYS = [("ConfigMap", "stray"), ("Secret", "stray-secret"), ("Deployment", "manual")]


def _project(name: str, **orphans: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"orphanedResources": orphans},
    }


def _listed(harness: Harness, app: str) -> list[tuple[str, str]]:
    orphans = harness.app(app)["orphanedResources"] or {}
    return sorted((r["kind"], r["name"]) for r in orphans.get("resources") or [])


def _warning(harness: Harness, app: str) -> dict[str, Any] | None:
    conditions = harness.app(app)["conditions"]
    return next((c for c in conditions if c["type"] == "OrphanedResourceWarning"), None)


def _versions(kube_cluster: Any, namespace: str) -> dict[str, str]:
    out = {}
    for kind, name in STRAYS:
        live = kube_cluster.get_json(kind.lower(), name, "-n", namespace)
        out[f"{kind}/{name}"] = live["metadata"]["resourceVersion"]
    return out


async def test_objects_no_app_manages_are_listed_and_never_touched(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, plain = f"orph-{uuid4().hex[:6]}", f"plain-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cfg.yaml": configmap("cfg", {"a": "1"})})
    git_server.create_repo(plain, {"app/cfg.yaml": configmap("cfg", {"a": "1"})})
    harness.configure(
        _project("team", ignore=[{"kind": "ConfigMap", "name": "keep-*"}]),
        application(app, repo=git_server.url(app), path="app", namespace=namespace, project="team"),
        application(plain, repo=git_server.url(plain), path="app", namespace=f"{namespace}-b"),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app) and harness.is_synced_healthy(plain))
    await harness.settle()
    assert harness.app(app)["orphanedResources"] == {"count": 0, "resources": []}
    assert _warning(harness, app) is None

    kube_cluster.kubectl("create", "configmap", "stray", "-n", namespace, "--from-literal=x=1")
    kube_cluster.kubectl("create", "configmap", "keep-me", "-n", namespace, "--from-literal=x=1")
    kube_cluster.kubectl("create", "secret", "generic", "stray-secret", "-n", namespace, "--from-literal=k=v")
    kube_cluster.kubectl("create", "deployment", "manual", "-n", namespace, "--image=nginx:1.27")
    kube_cluster.kubectl("create", "configmap", "other-app", "-n", f"{namespace}-b", "--from-literal=x=1")
    await harness.until(lambda: kube_cluster.get_json("pods", "-n", namespace)["items"])  # owned: not listed
    before = _versions(kube_cluster, namespace)

    await engine.refresh_app(app)
    assert _listed(harness, app) == sorted(STRAYS)
    warning = _warning(harness, app)
    assert warning is not None
    assert warning["status"] == "True"
    assert "3 orphaned object(s)" in warning["message"]
    assert harness.is_synced_healthy(app)  # a warning, not a failure
    assert harness.app(plain)["orphanedResources"] is None  # its project does not ask

    synced = await engine.sync_app(app, prune=True)
    assert synced["phase"] == "Succeeded", synced["message"]
    await engine.refresh_app(app)
    assert _versions(kube_cluster, namespace) == before  # listed, never written or deleted
    assert _listed(harness, app) == sorted(STRAYS)

    for kind, name in STRAYS:
        kube_cluster.kubectl("delete", kind.lower(), name, "-n", namespace)
    await harness.until(lambda: not kube_cluster.get_json("pods", "-n", namespace)["items"])
    await engine.refresh_app(app)
    assert _listed(harness, app) == []
    assert _warning(harness, app) is None
    assert json.loads(kube_cluster.kubectl("get", "configmap", "keep-me", "-n", namespace, "-o", "json"))
