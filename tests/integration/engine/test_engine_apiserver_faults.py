"""docs/reliability.md, F2 through the whole engine: the API server of one cluster goes away, then comes back.

gitward reaches the cluster through a loopback TCP proxy the test owns (TLS passes through untouched,
and the server certificate carries 127.0.0.1, so verification still holds). Stopping the proxy is what
a crashed or unreachable kube-apiserver looks like: every connection refused, open ones dropped.
Expected: the app reports a cluster error, the engine keeps running and retries with backoff, an app
on another cluster keeps converging, and once the proxy is back a new commit is applied.
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


def proxied_cluster(kube_cluster: Any, proxy: ApiServerProxy, directory: Path) -> dict[str, Any]:
    """A Cluster object whose kubeconfig is the admin one with the server moved to the proxy."""
    path = proxy.write_kubeconfig(Path(kube_cluster.kubeconfig), directory / "proxied.kubeconfig")
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "proxied"},
        "spec": {"kubeconfig": str(path)},
    }


def _ready(summary: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in summary["conditions"] if c["type"] == "Ready")


async def test_api_server_outage_is_reported_retried_and_converges_when_back(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    proxy: ApiServerProxy,
    tmp_path: Path,
) -> None:
    far, near = f"far-{uuid.uuid4().hex[:6]}", f"near-{uuid.uuid4().hex[:6]}"
    near_ns = f"{namespace}-n"
    repo = git_server.create_repo(
        far,
        {"far/cfg.yaml": configmap("far", {"v": "1"}), "near/cfg.yaml": configmap("near", {"v": "1"})},
    )
    url = git_server.url(far)
    far_app = application(far, repo=url, path="far", namespace=namespace)
    far_app["spec"]["destination"]["cluster"] = "proxied"
    harness.configure(
        proxied_cluster(kube_cluster, proxy, tmp_path),
        far_app,
        application(near, repo=url, path="near", namespace=near_ns),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(far) and harness.is_synced_healthy(near))
    assert proxy.accepted >= 1

    await proxy.stop()
    repo.commit(
        {"far/cfg.yaml": configmap("far", {"v": "2"}), "near/cfg.yaml": configmap("near", {"v": "2"})},
        message="v2",
    )
    summary = await engine.refresh_app(far)
    assert "unreachable" in summary["message"]
    assert _ready(summary)["status"] == "False"
    assert "retrying in" in _ready(summary)["message"]
    failures = [e for e in engine.events(far) if e["type"] == "Warning" and "unreachable" in e["message"]]
    assert failures

    # The engine keeps retrying on its own (backoff), and the other cluster's app is unaffected.
    failed_passes = engine.backoff.failures(far)
    assert failed_passes >= 1
    await harness.until(lambda: engine.backoff.failures(far) >= failed_passes + 2)
    await engine.refresh_app(near)
    assert kube_cluster.get_json("configmap", "near", "-n", near_ns)["data"] == {"v": "2"}
    assert harness.is_synced_healthy(near)
    assert kube_cluster.get_json("configmap", "far", "-n", namespace)["data"] == {"v": "1"}
    assert "unreachable" in harness.app(far)["message"]

    await proxy.start()
    repo.commit({"far/cfg.yaml": configmap("far", {"v": "3"})}, message="v3")
    await engine.refresh_app(far)
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "far", "-n", namespace)["data"] == {"v": "3"}
    )
    await harness.until(lambda: harness.is_synced_healthy(far))
    summary = harness.app(far)
    assert summary["sync"]["revision"] == repo.head()
    assert summary["message"] == ""
    assert engine.backoff.failures(far) == 0
    assert _ready(summary)["status"] == "True"
