"""Renderers end to end: a Kustomize overlay, a Helm chart in Git, and a chart from a Helm repository.

Each app is synced by the in-process engine into the real cluster with the pinned kustomize and helm;
the assertions read the live objects, so a parameter the engine drops on the way to the renderer
(an image override, a value file, a release name, a version range) fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.gitservers import FileGitServer
from devtools.helmrepo import HelmRepoServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


KUSTOMIZE_FILES: dict[str, str | bytes | None] = {
    "base/kustomization.yaml": _yaml({"resources": ["deployment.yaml", "config.yaml"]}),
    "base/deployment.yaml": deployment("web", image="nginx:1.27"),
    "base/config.yaml": configmap("web-config", {"env": "base", "owner": "platform"}),
    "overlays/prod/kustomization.yaml": _yaml(
        {
            "resources": ["../../base"],
            "replicas": [{"name": "web", "count": 2}],
            "patches": [
                {
                    "target": {"kind": "ConfigMap", "name": "web-config"},
                    "patch": _yaml(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": "web-config"},
                            "data": {"env": "prod"},
                        }
                    ),
                }
            ],
        }
    ),
}


async def test_kustomize_overlay_with_base_and_image_override(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("kust")
    git_server.create_repo(name, KUSTOMIZE_FILES)
    images = ["nginx=registry.example.com/mirror/nginx:1.27.3"]
    app = application(
        name,
        repo=git_server.url(name),
        path="overlays/prod",
        namespace=namespace,
        source={"kustomize": {"images": images}},
    )
    harness.configure(app)
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))

    live = kube_cluster.get_json("deployment", "web", "-n", namespace)
    assert live["spec"]["replicas"] == 2  # from the overlay
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["registry.example.com/mirror/nginx:1.27.3"]  # from the spec
    config = kube_cluster.get_json("configmap", "web-config", "-n", namespace)
    assert config["data"] == {"env": "prod", "owner": "platform"}  # base merged with the overlay's patch
    summary = harness.app(name)
    assert {(r["kind"], r["name"]) for r in summary["resources"]} == {
        ("Deployment", "web"),
        ("ConfigMap", "web-config"),
    }


CHART_FILES: dict[str, str | bytes | None] = {
    "charts/site/Chart.yaml": "apiVersion: v2\nname: site\nversion: 0.3.0\n",
    "charts/site/values.yaml": "greeting: hello\ncolor: red\nreplicas: 1\n",
    "charts/site/values-prod.yaml": "color: blue\nreplicas: 3\n",
    "charts/site/templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n  color: {{ .Values.color | quote }}\n"
        "  namespace: {{ .Release.Namespace | quote }}\n"
    ),
    "charts/site/templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  replicas: {{ .Values.replicas }}\n"
        "  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n"
        "  template:\n    metadata:\n      labels: {app: {{ .Release.Name }}}\n"
        "    spec:\n      containers:\n        - {name: web, image: 'nginx:1.27'}\n"
    ),
}


async def test_helm_chart_in_git_with_release_name_values_and_value_files(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("helm")
    release = unique("rel")
    git_server.create_repo(name, CHART_FILES)
    helm = {
        "releaseName": release,
        "valueFiles": ["values-prod.yaml"],
        "values": {"greeting": "hi from spec"},
    }
    app = application(
        name, repo=git_server.url(name), path="charts/site", namespace=namespace, source={"helm": helm}
    )
    harness.configure(app)
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))

    settings = kube_cluster.get_json("configmap", f"{release}-settings", "-n", namespace)
    # values.yaml < valueFiles < spec values, as with helm -f ... -f ...
    assert settings["data"] == {"greeting": "hi from spec", "color": "blue", "namespace": namespace}
    assert kube_cluster.get_json("deployment", release, "-n", namespace)["spec"]["replicas"] == 3
    assert harness.app(name)["sync"]["status"] == "Synced"


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo") as server:
        yield server


async def test_charts_from_a_helm_repository_by_version_and_by_range(
    harness: Harness, helm_repo: HelmRepoServer, namespace: str, kube_cluster: Any
) -> None:
    chart = unique("greeter")
    for version in ("1.0.0", "1.4.0", "2.0.0"):
        helm_repo.add_chart(chart, version)
    pinned, ranged = unique("pinned"), unique("ranged")
    apps = {pinned: ("1.0.0", f"{namespace}-pin"), ranged: (">=1.0.0 <2.0.0", f"{namespace}-range")}

    def chart_app(app_name: str, revision: str, ns: str) -> dict[str, Any]:
        source: dict[str, Any] = {"chart": chart, "revision": revision}
        if app_name == ranged:
            source["helm"] = {"values": {"greeting": "hej"}}
        return application(app_name, repo=helm_repo.url, path="", namespace=ns, source=source)

    harness.configure(*(chart_app(n, rev, ns) for n, (rev, ns) in apps.items()))
    engine = await harness.start()
    for app_name in apps:
        await harness.until(lambda app_name=app_name: harness.is_synced_healthy(app_name))

    def live(app_name: str) -> dict[str, str]:
        ns = apps[app_name][1]
        data: dict[str, str] = kube_cluster.get_json("configmap", f"{app_name}-config", "-n", ns)["data"]
        return data

    assert live(pinned) == {"greeting": "hello", "chartVersion": "1.0.0"}
    assert live(ranged) == {"greeting": "hej", "chartVersion": "1.4.0"}  # 2.0.0 is outside the range
    assert harness.app(pinned)["sync"]["revision"] == "1.0.0"
    assert harness.app(ranged)["sync"]["revision"] == "1.4.0"

    # A new release inside the range is picked up on refresh; the pinned app stays.
    helm_repo.add_chart(chart, "1.5.0")
    await engine.refresh_app(ranged)
    await engine.refresh_app(pinned)
    await harness.until(lambda: harness.app(ranged)["sync"]["revision"] == "1.5.0")
    assert live(ranged) == {"greeting": "hej", "chartVersion": "1.5.0"}
    assert live(pinned)["chartVersion"] == "1.0.0"
    assert harness.is_synced_healthy(ranged)
