"""ClusterCache and ClusterConnection against a real API server: list+watch, changes, 410 relist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.integration.cluster_support import MANAGER, configmap, create_established_crd, eventually, unique

from gitward.cluster.cache import CacheSettings, ClusterCache
from gitward.cluster.client import WatchEvent
from gitward.cluster.connection import ClusterConnection, ClusterConnections
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.keys import ResourceKey

pytestmark = pytest.mark.integration

Seen = list[tuple[str, ResourceKey, dict[str, Any]]]


@pytest.fixture
async def connection(kube_cluster: Any) -> AsyncIterator[ClusterConnection]:
    connection = await ClusterConnection.connect(kube_cluster.kubeconfig, name="local")
    yield connection
    await connection.close()


@pytest.fixture
async def namespace(connection: ClusterConnection) -> AsyncIterator[str]:
    name = unique("gw-cache")
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await connection.client.apply(ns, field_manager=MANAGER)
    yield name
    await connection.client.delete("v1", "Namespace", "", name)


def _in(namespace: str, seen: Seen) -> list[tuple[str, str]]:
    return [(t, k.name) for t, k, _ in seen if k.namespace == namespace and k.name != "kube-root-ca.crt"]


async def test_cache_follows_create_update_delete(connection: ClusterConnection, namespace: str) -> None:
    client, cache = connection.client, connection.cache
    await client.apply(configmap(namespace, "before", a="1"), field_manager=MANAGER)
    seen: Seen = []
    cache.on_change(lambda t, k, o: seen.append((t, k, o)))
    await cache.ensure_watched("v1", "ConfigMap")

    key = ResourceKey("", "ConfigMap", namespace, "before")
    cached = cache.get(key)
    assert cached is not None
    assert cached["data"] == {"a": "1"}
    assert "managedFields" not in cached["metadata"]
    assert _in(namespace, seen) == []  # the initial list is not reported as changes

    await client.apply(configmap(namespace, "new", b="1"), field_manager=MANAGER)
    await client.apply(configmap(namespace, "before", a="2"), field_manager=MANAGER)
    await client.delete("v1", "ConfigMap", namespace, "new")
    await eventually(lambda: len(_in(namespace, seen)) >= 3)
    assert _in(namespace, seen) == [("ADDED", "new"), ("MODIFIED", "before"), ("DELETED", "new")]
    assert all("managedFields" not in o["metadata"] for _, _, o in seen)
    assert cache.get(key)["data"] == {"a": "2"}  # type: ignore[index]
    assert cache.get(ResourceKey("", "ConfigMap", namespace, "new")) is None
    names = [o["metadata"]["name"] for o in cache.objects(kind="ConfigMap", namespace=namespace)]
    assert "before" in names
    assert "new" not in names


async def test_own_write_shows_at_once_and_a_dry_run_never(
    connection: ClusterConnection, namespace: str
) -> None:
    client, cache = connection.client, connection.cache
    await cache.ensure_watched("v1", "ConfigMap")
    dry = ResourceKey("", "ConfigMap", namespace, "dry")
    await client.apply(configmap(namespace, "dry", a="1"), field_manager=MANAGER, dry_run=True)
    assert cache.get(dry) is None

    answer = await client.apply(configmap(namespace, "made", a="1"), field_manager=MANAGER)
    made = cache.get(ResourceKey("", "ConfigMap", namespace, "made"))
    assert made is not None  # before or after its ADDED event: either way the status reads it
    assert made["metadata"]["resourceVersion"] == answer["metadata"]["resourceVersion"]
    assert "managedFields" not in made["metadata"]


async def test_one_list_and_one_watch_per_kind(connection: ClusterConnection, namespace: str) -> None:
    # A kind nothing else in the suite creates: its list is one page however long the suite has run
    # (ConfigMaps are not: every namespace holds one, and a list of more than a page is two requests).
    client, cache = connection.client, connection.cache
    before = dict(client.request_counts())
    await asyncio.gather(*(cache.ensure_watched("v1", "PodTemplate") for _ in range(5)))
    await cache.ensure_watched("v1", "PodTemplate")
    await eventually(lambda: client.request_counts()["watch"] > before["watch"])
    after = client.request_counts()
    assert after["list"] - before["list"] == 1
    assert after["watch"] - before["watch"] == 1
    assert sum(after[v] - before[v] for v in ("apply", "dryrun", "delete", "other")) == 0


class _TooOldOnce:
    """The real client, except that its first watch starts from revision 1 (410 Gone from the server)
    after creating an object that no watch sees: the cache can only learn of it by listing again."""

    def __init__(self, client: LightkubeClient, missed: dict[str, Any]) -> None:
        self._client = client
        self._missed = missed
        self.watches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def watch(
        self, api_version: str, kind: str, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent]:
        self.watches += 1
        if self.watches == 1:
            await self._client.apply(self._missed, field_manager=MANAGER)
            resource_version = "1"
        async for event in self._client.watch(
            api_version, kind, resource_version=resource_version, timeout_seconds=timeout_seconds
        ):
            yield event


async def test_410_relists_and_reports_the_missed_change(
    connection: ClusterConnection, namespace: str
) -> None:
    client = connection.client
    group = f"{unique('c')}.gitward.test"
    api_version = f"{group}/v1"
    manifest = await create_established_crd(client, group)
    missed = {
        "apiVersion": api_version,
        "kind": "Widget",
        "metadata": {"name": "missed", "namespace": namespace},
    }
    wrapper = _TooOldOnce(client, missed)
    cache = ClusterCache(wrapper, settings=CacheSettings(backoff_base=0.05))  # type: ignore[arg-type]
    seen: Seen = []
    cache.on_change(lambda t, k, o: seen.append((t, k, o)))
    try:

        async def listed() -> bool:
            try:
                await cache.ensure_watched(api_version, "Widget")
            except Exception:
                return False
            return True

        await eventually(listed)  # the new kind may take a moment to be served
        await eventually(lambda: cache.relist_count(api_version, "Widget") >= 1)
        await eventually(lambda: ("ADDED", "missed") in _in(namespace, seen))
        assert cache.get(ResourceKey(group, "Widget", namespace, "missed")) is not None
        assert wrapper.watches >= 2  # watching resumed after the relist

        # And the watch started after the relist still delivers changes.
        later = {
            "apiVersion": api_version,
            "kind": "Widget",
            "metadata": {"name": "later", "namespace": namespace},
        }
        await client.apply(later, field_manager=MANAGER)
        await eventually(lambda: ("ADDED", "later") in _in(namespace, seen))
    finally:
        await cache.stop()
        await client.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", manifest["metadata"]["name"]
        )


async def test_stop_ends_every_watch(kube_cluster: Any) -> None:
    connections = ClusterConnections()
    connection = await connections.get_or_connect("local", kube_cluster.kubeconfig)
    assert await connections.get_or_connect("local", kube_cluster.kubeconfig) is connection
    await connection.cache.ensure_watched("v1", "ConfigMap")
    await connection.cache.ensure_watched("apps/v1", "Deployment")
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("watch ")]
    assert len(tasks) >= 2
    await connections.close_all()
    assert all(t.done() for t in tasks)
    assert connections.names() == []
