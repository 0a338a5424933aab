"""Flux HelmReleases read as-is, synced by the in-process engine into the real cluster.

The charts come from the real Helm repository server (HTTP, ``index.yaml``) and from the real OCI
distribution registry (``helm push``), named by a Flux ``HelmRepository``; the HelmRelease's inline
values, target namespace and release name reach the objects ``helm template`` made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from devtools.helmrepo import HelmRepoServer
from devtools.ociregistry import OciRegistry, package_chart
from tests.integration.engine.harness import Harness

pytestmark = pytest.mark.integration

SOURCE = "source.toolkit.fluxcd.io/v1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo") as server:
        yield server


def in_cluster(harness: Harness) -> dict[str, Any]:
    """Flux objects deploy to the cluster gitward runs in: here, the test cluster."""
    return {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "in-cluster"},
            "spec": {"kubeconfig": str(harness.kubeconfig)}}  # fmt: skip


def helm_repository(name: str, url: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": SOURCE, "kind": "HelmRepository", "metadata": {"name": name, "namespace": "flux"},
            "spec": {"url": url, "interval": "1h", **spec}}  # fmt: skip


def helm_release(name: str, *, chart: str, version: str, repository: str, **spec: Any) -> dict[str, Any]:
    chart_spec = {
        "chart": chart,
        "version": version,
        "sourceRef": {"kind": "HelmRepository", "name": repository},
    }
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux"},
        "spec": {"interval": "1h", "chart": {"spec": chart_spec}, **spec},
    }


async def test_a_helmrelease_from_an_http_helm_repository(
    harness: Harness, helm_repo: HelmRepoServer, namespace: str, kube_cluster: Any
) -> None:
    chart = unique("web")
    for version in ("1.0.0", "1.3.0", "2.0.0"):
        helm_repo.add_chart(chart, version)
    name = unique("release")
    release = helm_release(
        name, chart=chart, version="^1.0.0", repository="charts", targetNamespace=namespace,
        values={"greeting": "hallo"}, install={"createNamespace": True},
    )  # fmt: skip
    harness.configure(in_cluster(harness), helm_repository("charts", helm_repo.url), release)
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    # Flux's release name: targetNamespace-name; the chart's ConfigMap is named after the release
    live = kube_cluster.get_json("configmap", f"{namespace}-{name}-config", "-n", namespace)["data"]
    assert live == {"greeting": "hallo", "chartVersion": "1.3.0"}  # 2.0.0 is outside ^1.0.0
    assert harness.app(name)["sync"]["revision"] == "1.3.0"

    helm_repo.add_chart(chart, "1.4.0")
    assert harness.engine is not None
    await harness.engine.refresh_app(name)
    await harness.until(lambda: harness.app(name)["sync"]["revision"] == "1.4.0")
    live = kube_cluster.get_json("configmap", f"{namespace}-{name}-config", "-n", namespace)["data"]
    assert live["chartVersion"] == "1.4.0"


async def test_a_helmrelease_from_an_oci_helm_repository(
    harness: Harness, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    with OciRegistry(tmp_path / "registry") as registry:
        chart = unique("ocichart")
        for version in ("0.1.0", "0.2.0"):
            registry.push_chart(package_chart(tmp_path / "charts", chart, version))
        name = unique("release")
        repository = helm_repository("oci-charts", registry.url("charts"), type="oci", insecure=True)
        release = helm_release(
            name, chart=chart, version="0.1.0", repository="oci-charts", targetNamespace=namespace,
            releaseName="pinned", values={"greeting": "hej"}, install={"createNamespace": True},
        )  # fmt: skip
        harness.configure(in_cluster(harness), repository, release)
        await harness.start()
        await harness.until(lambda: harness.is_synced_healthy(name), within=60)
        live = kube_cluster.get_json("configmap", "pinned-config", "-n", namespace)["data"]
        assert live == {"greeting": "hej", "chartVersion": "0.1.0"}


async def test_a_helmrelease_whose_source_is_refused_names_the_field(
    harness: Harness, helm_repo: HelmRepoServer, namespace: str
) -> None:
    name = unique("release")
    release = helm_release(
        name, chart="web", version="*", repository="charts", targetNamespace=namespace,
        postRenderers=[{"kustomize": {"patches": []}}],
    )  # fmt: skip
    harness.configure(in_cluster(harness), helm_repository("charts", helm_repo.url), release)
    await harness.start()
    summary = harness.app(name)  # listed as an invalid app, as a refused Kustomization is
    assert "spec.postRenderers is not supported by gitward" in summary["message"]
    assert helm_repo.requests == []  # refused at load: nothing fetched, nothing applied


async def test_a_helmrelease_of_a_chart_folder_in_a_git_repository_with_values_files(
    harness: Harness, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    chart = {
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "charts/web/values.yaml": "greeting: hello\n",
        "charts/web/values-prod.yaml": "greeting: prod\n",
        "charts/web/templates/cm.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\n"
            "data:\n  greeting: {{ .Values.greeting | quote }}\n"
        ),
    }
    with FileGitServer(tmp_path / "git") as git:
        repo = git.create_repo("fleet", chart)
        name = unique("gitchart")
        metadata = {"name": "fleet", "namespace": "flux"}
        git_spec = {"url": git.url("fleet"), "ref": {"branch": "main"}, "interval": "1h"}
        repository = {"apiVersion": SOURCE, "kind": "GitRepository", "metadata": metadata, "spec": git_spec}
        chart_spec = {"chart": "./charts/web", "sourceRef": {"kind": "GitRepository", "name": "fleet"},
                      "valuesFiles": ["charts/web/values.yaml", "charts/web/values-prod.yaml"]}  # fmt: skip
        release = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "flux"},
            "spec": {"interval": "1h", "chart": {"spec": chart_spec}, "targetNamespace": namespace,
                     "releaseName": "site", "install": {"createNamespace": True}},
        }  # fmt: skip
        harness.configure(in_cluster(harness), repository, release)
        engine = await harness.start()
        await harness.until(lambda: harness.is_synced_healthy(name))
        assert kube_cluster.get_json("configmap", "site-web", "-n", namespace)["data"] == {"greeting": "prod"}
        assert harness.app(name)["sync"]["revision"] == repo.head()

        repo.commit({"charts/web/values-prod.yaml": "greeting: changed\n"}, message="prod greeting")
        assert await engine.trigger_repository(git.url("fleet")) == [name]
        await harness.until(
            lambda: (
                kube_cluster.get_json("configmap", "site-web", "-n", namespace)["data"]
                == {"greeting": "changed"}
            )
        )


async def test_a_helmrelease_chart_ref_to_an_oci_repository(
    harness: Harness, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    with OciRegistry(tmp_path / "registry") as registry:
        chart = unique("refchart")
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            registry.push_chart(package_chart(tmp_path / "charts", chart, version))
        name = unique("release")
        oci = {
            "apiVersion": SOURCE, "kind": "OCIRepository", "metadata": {"name": "chart", "namespace": "flux"},
            "spec": {"url": f"{registry.url('charts')}/{chart}", "ref": {"semver": "1.x"}, "insecure": True,
                     "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                       "operation": "copy"}},
        }  # fmt: skip
        release = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "flux"},
            "spec": {"chartRef": {"kind": "OCIRepository", "name": "chart"}, "targetNamespace": namespace,
                     "releaseName": "byref", "install": {"createNamespace": True}},
        }  # fmt: skip
        harness.configure(in_cluster(harness), oci, release)
        await harness.start()
        await harness.until(lambda: harness.is_synced_healthy(name), within=60)
        live = kube_cluster.get_json("configmap", "byref-config", "-n", namespace)["data"]
        assert live["chartVersion"] == "1.1.0"  # the highest 1.x
