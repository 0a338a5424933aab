"""The core loop against a real cluster: Git -> Synced and Healthy, commits applied, prune, drift."""

from __future__ import annotations

from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

pytestmark = pytest.mark.integration


async def test_plain_app_becomes_synced_and_healthy_then_follows_a_commit(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    repo = git_server.create_repo(
        "apps", {"web/config.yaml": configmap("web", {"color": "blue"}), "web/deploy.yaml": deployment("web")}
    )
    harness.configure(application("web", repo=git_server.url("apps"), path="web", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("web"))
    live = kube_cluster.get_json("configmap", "web", "-n", namespace)
    assert live["data"] == {"color": "blue"}
    assert live["metadata"]["annotations"]["gitward.dev/tracking-id"] == f"web:/ConfigMap:{namespace}/web"

    repo.commit({"web/config.yaml": configmap("web", {"color": "green"})}, message="green")
    repo.push()
    await engine.refresh_app("web")
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "web", "-n", namespace)["data"]["color"] == "green"
    )
    assert harness.app("web")["sync"]["revision"] == repo.head()
