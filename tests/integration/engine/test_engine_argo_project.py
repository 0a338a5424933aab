"""An Argo CD AppProject read as a gitward Project, enforced on the real cluster.

The AppProject allows one namespace glob; an Argo CD Application of that project deploying inside it
syncs, one deploying outside it is refused before anything is applied, naming the rule.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, configmap

pytestmark = pytest.mark.integration


def argo_app(name: str, *, repo: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "team",
            "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
            "destination": {"name": "local", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
                "retry": {"limit": 0},
            },
        },
    }


async def test_an_appproject_refuses_an_app_outside_its_destinations(
    harness: Harness, git_server: FileGitServer, kube_cluster: Any
) -> None:
    suffix = uuid.uuid4().hex[:6]
    allowed, outside = f"team-{suffix}", f"other-{suffix}"
    repo = git_server.create_repo("apps", {"app/config.yaml": configmap("settings", {"k": "v"})})
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "argocd"},
        "spec": {
            "sourceRepos": [git_server.url("apps")],
            "destinations": [{"name": "local", "namespace": "team-*"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        },
    }
    inside_app = argo_app("inside", repo=git_server.url("apps"), namespace=allowed)
    outside_app = argo_app("outside", repo=git_server.url("apps"), namespace=outside)
    harness.configure(project, inside_app, outside_app)
    await harness.start()
    assert repo.head()

    await harness.until(lambda: harness.is_synced_healthy("inside"))
    assert kube_cluster.get_json("configmap", "settings", "-n", allowed)["data"] == {"k": "v"}

    def refused() -> Any:
        ready = [c for c in harness.app("outside")["conditions"] if c["type"] == "Ready"]
        return ready and ready[0]["status"] == "False" and "policy" in ready[0]["message"] and ready[0]

    condition = await harness.until(refused)
    assert (
        f"[Destination] namespace {outside!r} on cluster 'local' is not a permitted destination in "
        "project 'team'"
    ) in condition["message"]
    assert "nothing was applied" in condition["message"]
    assert kube_cluster.kubectl("get", "namespace", outside, check=False) == ""
