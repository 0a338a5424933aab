"""An idle app whose API server goes away shows it at once, and shows it no more once it is back.

The app reaches the cluster through a loopback proxy the test owns; stopping the proxy is a crashed
or unreachable kube-apiserver (connections refused, open ones dropped). Nothing triggers a reconcile
and nobody asks for one: the status must turn Unknown with a ClusterUnreachable reason by itself, a
second app on a cluster that still answers must stay as it was, and when the proxy listens again the
app must compare again and be Synced and Healthy without any user action.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.apiproxy import ApiServerProxy
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(kube_cluster: Any) -> AsyncIterator[ApiServerProxy]:
    found = ApiServerProxy.for_kubeconfig(Path(kube_cluster.kubeconfig))
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


def _ready(summary: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in summary["conditions"] if c["type"] == "Ready")


def _unreachable(summary: dict[str, Any]) -> bool:
    return bool(
        summary["sync"]["status"] == "Unknown"
        and summary["health"]["status"] == "Unknown"
        and _ready(summary)["reason"] == "ClusterUnreachable"
    )


async def test_an_idle_app_shows_its_cluster_unreachable_and_recovers_by_itself(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    proxy: ApiServerProxy,
    tmp_path: Path,
) -> None:
    far, near = f"far-{uuid.uuid4().hex[:6]}", f"near-{uuid.uuid4().hex[:6]}"
    repo = git_server.create_repo(
        far, {"far/cfg.yaml": configmap("far", {"v": "1"}), "near/cfg.yaml": configmap("near", {"v": "1"})}
    )
    far_app = application(far, repo=git_server.url(far), path="far", namespace=namespace)
    far_app["spec"]["destination"]["cluster"] = "proxied"
    proxied = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "proxied"},
        "spec": {"kubeconfig": str(proxy.write_kubeconfig(Path(kube_cluster.kubeconfig), tmp_path / "p"))},
    }
    near_app = application(near, repo=git_server.url(far), path="near", namespace=f"{namespace}-n")
    harness.configure(proxied, far_app, near_app)
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(far) and harness.is_synced_healthy(near))
    await harness.settle()
    reconciles = engine.reconciles

    await proxy.stop()
    summary = await harness.until(lambda: _unreachable(found := harness.app(far)) and found, within=30)
    assert summary["health"]["message"].startswith("cluster proxied unreachable since ")
    assert summary["message"] == summary["health"]["message"]
    assert summary["sync"]["revision"] == repo.head()  # what was last compared stays named
    assert harness.is_synced_healthy(near)
    stored = engine.store.load_status(far)
    assert stored is not None
    assert stored["sync"]["status"] == "Unknown"  # a restart would show it too

    await proxy.start()
    await harness.until(lambda: harness.is_synced_healthy(far), within=60)
    recovered = harness.app(far)
    assert recovered["message"] == ""
    assert _ready(recovered)["status"] == "True"
    assert engine.reconciles > reconciles  # it compared again once the cluster answered
