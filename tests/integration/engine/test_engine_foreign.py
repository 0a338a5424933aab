"""Argo CD and Flux objects met by the real engine: run when gitward can, named when it cannot.

- An Argo CD Application rendered by an app becomes a child app, as gitward's own kind does.
- A Flux HelmRelease rendered by an app, on a cluster that does not serve it, stops the app with a
  message saying what it is; nothing of that app is applied.
- A Flux ArtifactGenerator in the config is refused, and is not listed as an application.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


def argo_application(name: str, *, repo: str, path: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo, "targetRevision": "main", "path": path},
                "destination": {"name": "local", "namespace": namespace},
                "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
            },
        }
    )


HELM_RELEASE = yaml.safe_dump(
    {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo"},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "podinfo"}}},
    }
)


async def test_an_argo_cd_application_in_a_render_becomes_a_child_app(
    harness: Harness, git_server: FileGitServer, kube_cluster: Any
) -> None:
    suffix = uuid4().hex[:6]
    parent, child = f"argo-parent-{suffix}", f"argo-child-{suffix}"
    url = git_server.url(parent)
    git_server.create_repo(
        parent,
        {
            "apps/child.yaml": argo_application(child, repo=url, path="workload", namespace=f"gw-{child}"),
            "workload/cfg.yaml": configmap("cfg", {"from": "argo"}),
        },
    )
    harness.configure(application(parent, repo=url, path="apps", namespace="default"))
    engine = await harness.start()

    await harness.until(lambda: child in {a["name"] for a in engine.list_apps()})
    await harness.until(lambda: harness.is_synced_healthy(child))
    assert harness.app(child)["parent"] == parent
    live = kube_cluster.get_json("configmap", "cfg", "-n", f"gw-{child}")
    assert live["data"] == {"from": "argo"}
    await harness.until(lambda: harness.is_synced_healthy(parent))
    assert not any(r["kind"] == "Application" for r in harness.app(parent)["resources"])


APPS_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
    "templates/apps.yaml": """\
{{- range .Values.apps }}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {{ . }}-{{ $.Values.suffix }}
spec:
  project: default
  source:
    repoURL: {{ $.Values.repoURL }}
    targetRevision: main
    path: workloads/{{ . }}
  destination:
    name: local
    namespace: gw-{{ . }}-{{ $.Values.suffix }}
  syncPolicy:
    automated:
      prune: true
    syncOptions: [CreateNamespace=true]
{{- end }}
""",
}


async def test_an_argo_app_of_apps_chart_whose_values_name_the_repository_yields_child_apps_that_sync(
    harness: Harness, git_server: FileGitServer, kube_cluster: Any
) -> None:
    suffix = uuid4().hex[:6]
    parent = f"argo-chart-{suffix}"
    url = git_server.url(parent)
    values = yaml.safe_dump({"repoURL": url, "suffix": suffix, "apps": ["front", "back"]})
    files = {f"apps/{name}": text for name, text in APPS_CHART.items()}
    files["apps/values.yaml"] = values
    for name in ("front", "back"):
        files[f"workloads/{name}/cfg.yaml"] = configmap("cfg", {"tier": name})
    git_server.create_repo(parent, files)
    harness.configure(application(parent, repo=url, path="apps", namespace="default"))
    engine = await harness.start()

    children = {f"front-{suffix}", f"back-{suffix}"}
    try:
        await harness.until(lambda: children <= {a["name"] for a in engine.list_apps()})
        for child in children:
            await harness.until(lambda child=child: harness.is_synced_healthy(child))
    except AssertionError as failed:  # say where each app stood
        seen = {a["name"]: (a["sync"], a["health"], a.get("message")) for a in engine.list_apps()}
        raise AssertionError(f"{failed}; apps: {seen}") from None
    for child in children:
        assert harness.app(child)["parent"] == parent
    for name in ("front", "back"):
        live = kube_cluster.get_json("configmap", "cfg", "-n", f"gw-{name}-{suffix}")
        assert live["data"] == {"tier": name}
    await harness.until(lambda: harness.is_synced_healthy(parent))
    for name in ("front", "back"):
        kube_cluster.kubectl(
            "delete", "namespace", f"gw-{name}-{suffix}", "--wait=false", "--ignore-not-found"
        )


async def test_a_flux_helm_release_in_a_render_is_named_and_nothing_is_applied(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"flux-hr-{uuid4().hex[:6]}"
    git_server.create_repo(
        app, {"app/release.yaml": HELM_RELEASE, "app/cfg.yaml": configmap("cfg", {"k": "v"})}
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    await harness.start()

    expected = "HelmRelease podinfo (helm.toolkit.fluxcd.io/v2) is a Flux Helm release"
    await harness.until(lambda: expected in str(harness.app(app)["message"]))
    ready = next(c for c in harness.app(app)["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ForeignObject"
    assert (harness.app(app)["reason"], harness.app(app)["step"]) == ("ForeignObject", "validate")
    assert expected in harness.app(app)["statusMessage"]
    assert "does not serve" not in harness.app(app)["message"]
    found = kube_cluster.kubectl(
        "get", "configmap", "cfg", "-n", namespace, "--ignore-not-found", "-o", "name"
    )
    assert found.strip() == ""


async def test_a_refused_flux_kind_in_the_config_is_not_listed_as_an_application(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    app = f"listed-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cfg.yaml": configmap("cfg", {"k": "v"})})
    generator = {
        "apiVersion": "source.extensions.fluxcd.io/v1beta1",
        "kind": "ArtifactGenerator",
        "metadata": {"name": "generated", "namespace": "flux-system"},
        "spec": {"sources": [], "artifacts": []},
    }
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace), generator)
    engine = await harness.start()

    await harness.until(lambda: harness.is_synced_healthy(app))
    assert [a["name"] for a in engine.list_apps()] == [app]
