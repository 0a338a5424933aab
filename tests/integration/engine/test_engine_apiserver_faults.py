"""RELIABILITY F2 through the whole engine: the API server of one cluster goes away, then comes back.

gitward reaches the cluster through a loopback TCP proxy the test owns (TLS passes through untouched,
and the server certificate carries 127.0.0.1, so verification still holds). Stopping the proxy is what
a crashed or unreachable kube-apiserver looks like: every connection refused, open ones dropped.
Expected: the app reports a cluster error, the engine keeps running and retries with backoff, an app
on another cluster keeps converging, and once the proxy is back a new commit is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


class ApiServerProxy:
    """TCP proxy on a fixed loopback port that can be stopped (refusing) and started again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Refuse new connections and drop every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            dst.close()


def _target_of(kubeconfig: Path) -> tuple[str, int]:
    server = urlsplit(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])
    return server.hostname or "127.0.0.1", server.port or 443


@pytest.fixture
async def proxy(kube_cluster: Any) -> AsyncIterator[ApiServerProxy]:
    found = ApiServerProxy(_target_of(Path(kube_cluster.kubeconfig)))
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


def proxied_cluster(kube_cluster: Any, proxy: ApiServerProxy, directory: Path) -> dict[str, Any]:
    """A Cluster object whose kubeconfig is the admin one with the server moved to the proxy."""
    config = yaml.safe_load(Path(kube_cluster.kubeconfig).read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path = directory / "proxied.kubeconfig"
    path.write_text(yaml.safe_dump(config))
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
