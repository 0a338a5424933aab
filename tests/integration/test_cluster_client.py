"""LightkubeClient against a real API server: apply, get, list, delete, dry-run, discovery, watch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.integration.cluster_support import (
    MANAGER,
    configmap,
    create_established_crd,
    eventually,
    unique,
)

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.errors import ClusterError

pytestmark = pytest.mark.integration


@pytest.fixture
async def namespace(client: LightkubeClient) -> AsyncIterator[str]:
    name = unique("gw-cluster")
    await client.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, field_manager=MANAGER
    )
    yield name
    await client.delete("v1", "Namespace", "", name)


def _writes(counts: Any) -> int:
    return sum(counts[v] for v in ("apply", "create", "update", "dryrun", "delete", "other"))


async def test_server_version_and_api_versions(client: LightkubeClient) -> None:
    assert (await client.server_version()).startswith("v1.")
    versions = await client.api_versions()
    assert "v1" in versions
    assert "apps/v1" in versions
    res = await client.resource_for("apps/v1", "Deployment")
    assert (res.plural, res.namespaced) == ("deployments", True)


async def test_configmap_apply_get_list_delete(client: LightkubeClient, namespace: str) -> None:
    created = await client.apply(configmap(namespace, "settings", a="1"), field_manager=MANAGER)
    assert created["data"] == {"a": "1"}
    assert created["metadata"]["managedFields"][0]["manager"] == MANAGER

    updated = await client.apply(configmap(namespace, "settings", a="2"), field_manager=MANAGER)
    assert updated["data"] == {"a": "2"}

    live = await client.get("v1", "ConfigMap", namespace, "settings")
    assert live is not None
    assert live["data"] == {"a": "2"}

    items, resource_version = await client.list("v1", "ConfigMap", namespace=namespace)
    mine = [i for i in items if i["metadata"]["name"] == "settings"]
    assert len(mine) == 1
    assert (mine[0]["apiVersion"], mine[0]["kind"]) == ("v1", "ConfigMap")
    assert resource_version.isdigit()

    assert await client.delete("v1", "ConfigMap", namespace, "settings") is True
    assert await client.get("v1", "ConfigMap", namespace, "settings") is None
    assert await client.delete("v1", "ConfigMap", namespace, "settings") is False


async def test_list_reads_every_page(client: LightkubeClient, namespace: str) -> None:
    for i in range(7):
        await client.apply(configmap(namespace, f"page-{i}"), field_manager=MANAGER)
    items, _ = await client.list("v1", "ConfigMap", namespace=namespace, label_selector=None)
    names = {i["metadata"]["name"] for i in items}
    assert {f"page-{i}" for i in range(7)} <= names


async def test_label_selector(client: LightkubeClient, namespace: str) -> None:
    labelled = configmap(namespace, "labelled")
    labelled["metadata"]["labels"] = {"tier": "web"}
    await client.apply(labelled, field_manager=MANAGER)
    await client.apply(configmap(namespace, "plain"), field_manager=MANAGER)
    items, _ = await client.list("v1", "ConfigMap", namespace=namespace, label_selector="tier=web")
    assert [i["metadata"]["name"] for i in items] == ["labelled"]


async def test_deployment_apply_and_conflicting_manager(client: LightkubeClient, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    await client.apply(deployment, field_manager=MANAGER)
    deployment["spec"]["replicas"] = 3
    with pytest.raises(ClusterError) as info:
        await client.apply(deployment, field_manager="someone-else")
    assert info.value.status == 409
    assert "conflict" in str(info.value).lower()
    forced = await client.apply(deployment, field_manager="someone-else", force=True)
    assert forced["spec"]["replicas"] == 3
    live = await client.get("apps/v1", "Deployment", namespace, "web")
    assert live is not None
    assert live["spec"]["replicas"] == 3


async def test_dry_run_changes_nothing(client: LightkubeClient, namespace: str) -> None:
    await client.apply(configmap(namespace, "dry", a="1"), field_manager=MANAGER)
    before = client.request_counts()
    preview = await client.apply(configmap(namespace, "dry", a="2"), field_manager=MANAGER, dry_run=True)
    assert preview["data"] == {"a": "2"}
    new = await client.apply(configmap(namespace, "never"), field_manager=MANAGER, dry_run=True)
    assert new["metadata"]["name"] == "never"
    after = client.request_counts()
    assert after["dryrun"] - before["dryrun"] == 2
    assert after["apply"] == before["apply"]
    live = await client.get("v1", "ConfigMap", namespace, "dry")
    assert live is not None
    assert live["data"] == {"a": "1"}
    assert await client.get("v1", "ConfigMap", namespace, "never") is None


async def test_api_refusal_carries_the_api_message(client: LightkubeClient, namespace: str) -> None:
    bad = configmap(namespace, "Not_Valid")
    with pytest.raises(ClusterError) as info:
        await client.apply(bad, field_manager=MANAGER)
    assert info.value.status == 422
    assert "Not_Valid" in str(info.value)
    assert "invalid" in str(info.value).lower()


async def test_secret_values_stay_out_of_errors(client: LightkubeClient, namespace: str) -> None:
    value = "super-secret-value-123"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": namespace, "labels": {"bad label!": "x"}},
        "stringData": {"password": value},
    }
    with pytest.raises(ClusterError) as info:
        await client.apply(secret, field_manager=MANAGER)
    assert info.value.status == 422
    assert value not in str(info.value)


async def test_fresh_crd_is_discovered(client: LightkubeClient, namespace: str) -> None:
    group = f"{unique('d')}.gitward.test"
    with pytest.raises(ClusterError) as info:
        await client.resource_for(f"{group}/v1", "Widget")
    assert info.value.status == 404
    manifest = await create_established_crd(client, group)
    try:

        async def served() -> bool:
            try:
                await client.resource_for(f"{group}/v1", "Widget")
            except ClusterError:
                return False
            return True

        await eventually(served)
        client.discovery.invalidate()  # api_versions() reuses its copy for a while otherwise
        assert f"{group}/v1" in await client.api_versions()
        widget = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": namespace},
        }
        applied = await client.apply(widget, field_manager=MANAGER)
        assert applied["kind"] == "Widget"
    finally:
        await client.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", manifest["metadata"]["name"]
        )


async def test_watch_sees_a_change(client: LightkubeClient, namespace: str) -> None:
    _, resource_version = await client.list("v1", "ConfigMap", namespace=namespace)
    await client.apply(configmap(namespace, "watched", a="1"), field_manager=MANAGER)
    seen: list[tuple[str, str]] = []
    async for event in client.watch("v1", "ConfigMap", resource_version=resource_version, timeout_seconds=30):
        meta = event.object.get("metadata") or {}
        if meta.get("namespace") == namespace and meta.get("name") == "watched":
            seen.append((event.type, meta["name"]))
            break
    assert seen == [("ADDED", "watched")]
    assert client.request_counts()["watch"] >= 1


async def test_watch_from_a_too_old_version_is_410(client: LightkubeClient) -> None:
    # A new CRD's watch cache starts at the current revision, so revision 1 is reliably too old.
    group = f"{unique('g')}.gitward.test"
    manifest = await create_established_crd(client, group)
    try:
        await eventually(lambda: _served(client, f"{group}/v1"))
        with pytest.raises(ClusterError) as info:
            async for _ in client.watch(f"{group}/v1", "Widget", resource_version="1", timeout_seconds=10):
                pass
        assert info.value.status == 410
    finally:
        await client.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", manifest["metadata"]["name"]
        )


async def _served(client: LightkubeClient, api_version: str) -> bool:
    try:
        await client.resource_for(api_version, "Widget")
    except ClusterError:
        return False
    return True


async def test_reads_count_no_writes(client: LightkubeClient, namespace: str) -> None:
    before = dict(client.request_counts())
    await client.get("v1", "ConfigMap", namespace, "absent")
    await client.list("v1", "ConfigMap", namespace=namespace)
    after = client.request_counts()
    assert _writes(after) == _writes(before)
    assert after["get"] == before["get"] + 1
    assert after["list"] == before["list"] + 1
