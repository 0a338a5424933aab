"""Faults between gitward and the API server (docs/reliability.md, F2, F5), through a TCP proxy the test owns.

The proxy forwards to the real API server (TLS passes through untouched) and can refuse or cut
connections on demand, which is what a restarting or unreachable API server looks like to a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.apiproxy import ApiServerProxy
from tests.integration.cluster_support import MANAGER, configmap, eventually, unique

from gitward.cluster.cache import CacheSettings
from gitward.cluster.connection import ClusterConnection, ConnectionSettings
from gitward.cluster.failures import RetryPolicy
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxied(kube_cluster: Any, tmp_path: Path) -> AsyncIterator[tuple[ApiServerProxy, Path]]:
    proxy = ApiServerProxy.for_kubeconfig(Path(kube_cluster.kubeconfig))
    await proxy.start()
    path = proxy.write_kubeconfig(Path(kube_cluster.kubeconfig), tmp_path / "proxied.kubeconfig")
    yield proxy, path
    await proxy.stop()


@pytest.fixture
async def direct(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    yield client
    await client.close()


async def test_refused_connections_are_retried_then_succeed(proxied: tuple[ApiServerProxy, Path]) -> None:
    proxy, kubeconfig = proxied
    client = await LightkubeClient.from_kubeconfig(kubeconfig, retry=RetryPolicy(attempts=4, base_delay=0.01))
    try:
        proxy.refuse = 2
        assert (await client.server_version()).startswith("v1.")
        assert proxy.accepted >= 3
    finally:
        await client.close()


async def test_unreachable_server_raises_a_clear_error(proxied: tuple[ApiServerProxy, Path]) -> None:
    proxy, kubeconfig = proxied
    client = await LightkubeClient.from_kubeconfig(kubeconfig, retry=RetryPolicy(attempts=3, base_delay=0.01))
    try:
        proxy.refuse = 1000
        with pytest.raises(ClusterError) as info:
            await client.get("v1", "Namespace", "", "default")
        assert info.value.status == 0
        assert "unreachable" in str(info.value)
        proxy.refuse = 0  # the server is back: the same client works again
        assert await client.get("v1", "Namespace", "", "default") is not None
    finally:
        await client.close()


async def test_cache_misses_no_change_when_the_watch_is_cut(
    proxied: tuple[ApiServerProxy, Path], direct: LightkubeClient
) -> None:
    proxy, kubeconfig = proxied
    namespace = unique("gw-fault")
    await direct.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, field_manager=MANAGER
    )
    settings = ConnectionSettings(
        retry=RetryPolicy(attempts=2, base_delay=0.01),
        cache=CacheSettings(backoff_base=0.05, backoff_max=0.5),
    )
    connection = await ClusterConnection.connect(kubeconfig, settings=settings)
    seen: list[tuple[str, str]] = []
    connection.cache.on_change(lambda t, k, o: seen.append((t, k.name)) if k.namespace == namespace else None)
    try:
        await connection.cache.ensure_watched("v1", "ConfigMap")
        await eventually(lambda: connection.client.request_counts()["watch"] >= 1)
        watches = connection.client.request_counts()["watch"]
        proxy.refuse = 3  # the first reconnects fail too
        await proxy.cut()
        # Made while the cache is disconnected: it must still arrive once the watch is back.
        await direct.apply(configmap(namespace, "during-outage", a="1"), field_manager=MANAGER)
        await eventually(lambda: ("ADDED", "during-outage") in seen)
        assert connection.client.request_counts()["watch"] > watches
        key = ResourceKey("", "ConfigMap", namespace, "during-outage")
        assert connection.cache.get(key) is not None
    finally:
        await connection.close()
        await direct.delete("v1", "Namespace", "", namespace)
