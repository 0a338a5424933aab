"""Jsonnet apps, config-management plugins and chart dependencies, synced by the engine to the cluster.

The apps come from a real Git server, render with the pinned jsonnet, kustomize and helm in the
jail, and the assertions read the live objects, so a value the engine drops on its way to the
renderer (a top-level argument, an ext var, a plugin's env, a dependency) fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from devtools.helmrepo import HelmRepoServer
from tests.integration.engine.harness import Harness, application

pytestmark = pytest.mark.integration

CHART_USER, CHART_PASSWORD = "charts", "s3cret-engine-chart-password"

MAIN = """\
local names = import 'names.libsonnet';
function(replicas) [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.prefix + std.extVar('app') },
    data: { replicas: std.toString(replicas), cluster: std.extVar('kube') },
  },
]
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def test_a_jsonnet_app_with_a_top_level_argument_an_ext_var_and_a_library_syncs(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("jsonnet")
    repo = git_server.create_repo(
        "apps",
        {
            "apps/web/main.jsonnet": MAIN,
            "lib/names.libsonnet": "{ prefix: 'from-jsonnet-' }\n",
            "apps/web/README.md": "evaluated by jsonnet\n",
        },
    )
    jsonnet = {
        "libs": ["lib"],
        "extVars": [
            {"name": "app", "value": "$ARGOCD_APP_NAME"},
            {"name": "kube", "value": "${KUBE_VERSION}"},
        ],
        "tlas": [{"name": "replicas", "value": "1 + 2", "code": True}],
    }
    harness.configure(
        application(
            name,
            repo=git_server.url("apps"),
            path="apps/web",
            namespace=namespace,
            source={"directory": {"jsonnet": jsonnet}},
        )
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    live = kube_cluster.get_json("configmap", f"from-jsonnet-{name}", "-n", namespace)
    assert live["data"]["replicas"] == "3"
    assert live["data"]["cluster"].startswith("v1.")

    # a change in the library folder, outside the app's path, re-renders the app
    repo.commit({"lib/names.libsonnet": "{ prefix: 'renamed-' }\n"})
    assert harness.engine is not None
    await harness.engine.refresh_app(name)

    def renamed() -> str:
        return str(
            kube_cluster.kubectl("get", "configmap", f"renamed-{name}", "-n", namespace, "--ignore-not-found")
        )

    await harness.until(renamed)
    await harness.until(lambda: harness.is_synced_healthy(name))
    # pruned: the old name left the render
    assert not kube_cluster.kubectl(
        "get", "configmap", f"from-jsonnet-{name}", "-n", namespace, "--ignore-not-found"
    )


PLUGIN_FILES = {
    "apps/web/kustomization.yaml": (
        "resources: [cm.yaml]\n"
        "helmCharts:\n- {name: web, releaseName: shop, valuesInline: {greeting: from-plugin}}\n"
    ),
    "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kustomized}\n",
    "apps/web/charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "apps/web/charts/web/values.yaml": "greeting: default\n",
    "apps/web/charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-web'}\n"
        "data: {greeting: '{{ .Values.greeting }}', flavour: '{{ .Values.flavour }}'}\n"
    ),
}


def plugin(name: str, generate: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Plugin",
        "metadata": {"name": name},
        "spec": {"generate": {"command": generate[:1], "args": generate[1:]}, **spec},
    }


async def test_a_plugin_app_renders_with_kustomize_and_helm_and_syncs(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("plugin")
    git_server.create_repo("apps", PLUGIN_FILES)
    script = 'kustomize build --enable-helm . | sed "s/flavour: .*/flavour: $ARGOCD_ENV_FLAVOUR-$PARAM_SIZE/"'
    harness.configure(
        plugin(
            "kustomize-helm",
            ["bash", "-c", "set -o pipefail; " + script],
            discover={"fileName": "kustomization.yaml"},
        ),
        application(
            name,
            repo=git_server.url("apps"),
            path="apps/web",
            namespace=namespace,
            source={
                "plugin": {
                    "env": [{"name": "FLAVOUR", "value": "$ARGOCD_APP_NAME"}],
                    "parameters": [{"name": "size", "string": "xl"}],
                }
            },
        ),
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    assert (
        kube_cluster.get_json("configmap", "kustomized", "-n", namespace)["metadata"]["name"] == "kustomized"
    )
    rendered = kube_cluster.get_json("configmap", "shop-web", "-n", namespace)["data"]
    assert rendered == {"greeting": "from-plugin", "flavour": f"{name}-xl"}


async def test_a_plugin_that_times_out_is_killed_and_the_app_says_so(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    slow, fine = unique("slow"), unique("fine")
    git_server.create_repo(
        "apps",
        {
            **PLUGIN_FILES,
            "apps/other/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {fine}}}\n",
        },
    )
    harness.configure(
        plugin("sleeper", ["sh", "-c", "sleep 600"], timeout="1s"),
        application(
            slow,
            repo=git_server.url("apps"),
            path="apps/web",
            namespace=namespace,
            source={"plugin": {"name": "sleeper"}},
        ),
        application(fine, repo=git_server.url("apps"), path="apps/other", namespace=namespace),
    )
    await harness.start()
    expected = "plugin sleeper (generate) timed out after 1s and was killed"
    await harness.until(lambda: expected in str(harness.app(slow)["message"]))
    await harness.until(lambda: harness.is_synced_healthy(fine))
    status = harness.app(slow)
    assert (status["reason"], status["step"]) == ("RenderTimeout", "render")
    assert status["resources"] == []


async def test_an_app_naming_a_plugin_the_config_lacks_says_so(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = unique("missing")
    git_server.create_repo("apps", PLUGIN_FILES)
    harness.configure(
        application(
            name,
            repo=git_server.url("apps"),
            path="apps/web",
            namespace=namespace,
            source={"plugin": {"name": "nope"}},
        )
    )
    await harness.start()
    await harness.until(
        lambda: "plugin 'nope' is not defined in the config" in str(harness.app(name)["message"])
    )
    assert harness.app(name)["reason"] == "PluginNotFound"


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo", username=CHART_USER, password=CHART_PASSWORD) as server:
        yield server


def chart_files(dependency_url: str, *, version: str = "^1.0.0") -> dict[str, str | bytes | None]:
    return {
        "charts/web/Chart.yaml": (
            "apiVersion: v2\nname: web\nversion: 0.1.0\n"
            f"dependencies:\n- {{name: greeter, version: '{version}', repository: '{dependency_url}'}}\n"
        ),
        "charts/web/templates/cm.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-web'}\n"
        ),
    }


async def test_a_chart_with_a_dependency_from_a_helm_repository_syncs_and_an_unreachable_one_is_named(
    harness: Harness,
    git_server: FileGitServer,
    helm_repo: HelmRepoServer,
    namespace: str,
    kube_cluster: Any,
    tmp_path: Path,
) -> None:
    helm_repo.add_chart("greeter", "1.2.0")
    password_file = tmp_path / "chart-password"
    password_file.write_text(CHART_PASSWORD + "\n")
    good, broken = unique("deps"), unique("unreachable")
    unreachable = "http://127.0.0.1:9/charts"
    git_server.create_repo("charts", chart_files(helm_repo.url))
    git_server.create_repo("broken", chart_files(unreachable, version="1.0.0"))
    repositories = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": name},
            "spec": {"url": url, "username": CHART_USER, "passwordFile": str(password_file)},
        }
        for name, url in (("charts", helm_repo.url), ("unreachable", unreachable))
    ]
    harness.configure(
        *repositories,
        application(
            good, repo=git_server.url("charts"), path="charts/web", namespace=namespace, source={"helm": {}}
        ),
        application(broken, repo=git_server.url("broken"), path="charts/web", namespace=f"{namespace}-b"),
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(good))
    live = kube_cluster.get_json("configmap", f"{good}-config", "-n", namespace)["data"]
    assert live == {"greeting": "hello", "chartVersion": "1.2.0"}
    assert kube_cluster.get_json("configmap", f"{good}-web", "-n", namespace)

    expected = f"chart dependency 'greeter' 1.0.0 from {unreachable} could not be fetched"
    await harness.until(lambda: expected in str(harness.app(broken)["message"]))
    status = harness.app(broken)
    assert (status["reason"], status["step"]) == ("ChartDependencyUnavailable", "render")
    assert CHART_PASSWORD not in str(status)
