"""A Flux Kustomization reading a Flux Bucket, synced from a real S3-compatible server (gofakes3 on
loopback) into the real cluster: objects added, changed and removed in the bucket reach the cluster,
and a key that is not a plain relative path refuses the fetch with nothing applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.s3server import S3Server
from tests.integration.engine.harness import Harness, configmap

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3Server]:
    with S3Server(tmp_path / "s3", bucket="fleet") as server:
        yield server


def flux_objects(name: str, s3: S3Server, namespace: str) -> list[dict[str, Any]]:
    cluster = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "in-cluster"},
               "spec": {"kubeconfig": "{KUBECONFIG}"}}  # fmt: skip
    bucket = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "Bucket",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"bucketName": "fleet", "endpoint": s3.endpoint, "insecure": True, "prefix": "clusters",
                 "interval": "1h"},
    }  # fmt: skip
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"interval": "1h", "retryInterval": "1s", "path": "./clusters/dev", "prune": True,
                 "targetNamespace": namespace, "sourceRef": {"kind": "Bucket", "name": "fleet"}},
    }  # fmt: skip
    return [cluster, bucket, kustomization]


def _configure(harness: Harness, documents: list[dict[str, Any]]) -> None:
    documents[0]["spec"]["kubeconfig"] = str(harness.kubeconfig)
    harness.configure(*documents)


async def test_a_kustomization_from_a_bucket_follows_the_bucket(
    harness: Harness, s3: S3Server, namespace: str, kube_cluster: Any
) -> None:
    kube_cluster.kubectl("create", "namespace", namespace)
    s3.put("clusters/dev/a.yaml", configmap("from-bucket", {"v": "1"}))
    s3.put("clusters/dev/b.yaml", configmap("second", {"v": "1"}))
    s3.put("clusters/prod/c.yaml", configmap("prod-only", {"v": "1"}))
    s3.put("elsewhere/d.yaml", configmap("outside-prefix", {"v": "1"}))
    name = f"bucket-{uuid.uuid4().hex[:6]}"
    _configure(harness, flux_objects(name, s3, namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    names = kube_cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name").split()
    assert {"configmap/from-bucket", "configmap/second"} <= set(names)
    assert not {"configmap/prod-only", "configmap/outside-prefix"} & set(names)
    first = harness.app(name)["sync"]["revision"]
    assert first.startswith("sha256:")

    s3.put("clusters/dev/a.yaml", configmap("from-bucket", {"v": "2"}))
    s3.delete("clusters/dev/b.yaml")
    await engine.refresh_app(name)
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "from-bucket", "-n", namespace)["data"] == {"v": "2"}
    )
    await harness.until(
        lambda: kube_cluster.kubectl("get", "configmap", "second", "-n", namespace, check=False) == ""
    )  # pruned: it left the bucket
    assert harness.app(name)["sync"]["revision"] not in ("", first)


async def test_a_key_that_is_not_a_plain_path_refuses_the_fetch(
    harness: Harness, s3: S3Server, namespace: str, kube_cluster: Any
) -> None:
    kube_cluster.kubectl("create", "namespace", namespace)
    s3.put("clusters/dev/a.yaml", configmap("never-applied", {"v": "1"}))
    s3.put("clusters/dev/x/../../escape.yaml", configmap("escape", {"v": "1"}))
    name = f"bucket-{uuid.uuid4().hex[:6]}"
    _configure(harness, flux_objects(name, s3, namespace))
    await harness.start()

    def failed() -> Any:
        ready = [c for c in harness.app(name)["conditions"] if c["type"] == "Ready"]
        return ready and ready[0]["status"] == "False" and ready[0]["message"]

    message = await harness.until(failed)
    assert "is not a plain relative path; nothing is fetched" in message
    assert kube_cluster.kubectl("get", "configmap", "never-applied", "-n", namespace, check=False) == ""
