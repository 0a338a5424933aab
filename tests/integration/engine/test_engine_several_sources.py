"""Argo CD multi-source apps on the real cluster: a Helm chart from one repository with a values file
from another (``$values/...``), a plain folder as a third source, concatenated into one app; a push
to the values repository alone wakes the app and changes what the chart renders.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, configmap

pytestmark = pytest.mark.integration

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "color: grey\nsize: small\n",
    "charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\n"
        "data:\n  color: {{ .Values.color | quote }}\n  size: {{ .Values.size | quote }}\n"
    ),
}


def argo_app(name: str, *, charts: str, config: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "sources": [
                {"repoURL": charts, "targetRevision": "main", "path": "charts/web",
                 "helm": {"valueFiles": ["values.yaml", "$values/envs/prod/web.yaml"]}},
                {"repoURL": config, "targetRevision": "main", "ref": "values"},
                {"repoURL": config, "targetRevision": "main", "path": "extra"},
            ],
            "destination": {"name": "local", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
            },
        },
    }  # fmt: skip


async def test_a_chart_with_values_from_another_repository_and_a_third_source(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"multi-{uuid4().hex[:6]}"
    git_server.create_repo("charts", CHART)
    config = git_server.create_repo(
        "config",
        {
            "envs/prod/web.yaml": "color: blue\n",
            "extra/settings.yaml": configmap("extra-settings", {"from": "third-source"}),
        },
    )
    app = argo_app(
        name, charts=git_server.url("charts"), config=git_server.url("config"), namespace=namespace
    )
    harness.configure(app)
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))

    web = kube_cluster.get_json("configmap", f"{name}-web", "-n", namespace)["data"]
    assert web == {"color": "blue", "size": "small"}  # $values file over the chart's values.yaml
    extra = kube_cluster.get_json("configmap", "extra-settings", "-n", namespace)["data"]
    assert extra == {"from": "third-source"}
    summary = harness.app(name)
    commits = summary["sync"]["revision"].split(",")
    assert len(commits) == 3
    assert commits[1] == commits[2] == config.head()

    # A push to the values repository alone: the app's input changed, so a push there wakes it.
    config.commit({"envs/prod/web.yaml": "color: green\nsize: large\n"}, message="green")
    woken = await engine.trigger_repository(git_server.url("config"))
    assert woken == [name]
    await harness.until(
        lambda: (
            kube_cluster.get_json("configmap", f"{name}-web", "-n", namespace)["data"]
            == {"color": "green", "size": "large"}
        )
    )
    assert kube_cluster.get_json("configmap", "extra-settings", "-n", namespace)["data"] == {
        "from": "third-source"
    }

    # A push to the charts repository that does not touch what the app reads wakes nothing.
    git_server.repos["charts"].commit({"README.md": "charts\n"}, message="docs")
    assert await engine.trigger_repository(git_server.url("charts")) == []


async def test_a_values_file_outside_the_ref_repository_is_refused(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"multi-{uuid4().hex[:6]}"
    git_server.create_repo("charts", CHART)
    git_server.create_repo("config", {"envs/prod/web.yaml": "color: blue\n"})
    app = argo_app(
        name, charts=git_server.url("charts"), config=git_server.url("config"), namespace=namespace
    )
    app["spec"]["sources"][0]["helm"]["valueFiles"] = ["$values/envs/missing.yaml"]
    app["spec"]["sources"].pop()
    harness.configure(app)
    await harness.start()

    def failed() -> Any:
        ready = [c for c in harness.app(name)["conditions"] if c["type"] == "Ready"]
        return ready and ready[0]["status"] == "False" and ready[0]["message"]

    message = await harness.until(failed)
    assert "value file not found: envs/missing.yaml" in message
    assert kube_cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name", check=False) == ""
