"""``dependsOn`` orders apps; ``ignoreDifferences`` keeps named fields out of sync status and self-heal."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


async def test_an_app_waits_for_its_dependency_to_be_synced_and_healthy(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    base, dependent = _name("base"), _name("dependent")
    repo = git_server.create_repo(
        base,
        {"base/broken.yaml": "kind: [unclosed\n", "dependent/config.yaml": configmap(dependent, {"k": "v"})},
    )
    url = git_server.url(base)
    harness.configure(
        application(base, repo=url, path="base", namespace=namespace),
        application(dependent, repo=url, path="dependent", namespace=namespace, dependsOn=[{"name": base}]),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.app(dependent)["message"].startswith("waiting for dependency"))
    ready = next(c for c in harness.app(dependent)["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "DependencyNotReady"
    assert kube_cluster.kubectl("get", "configmap", dependent, "-n", namespace, check=False) == ""

    repo.commit({"base/broken.yaml": None, "base/config.yaml": configmap(base, {"k": "v"})}, message="fix")
    repo.push()
    await engine.refresh_app(base)
    await harness.until(lambda: harness.is_synced_healthy(dependent))
    assert kube_cluster.get_json("configmap", dependent, "-n", namespace)["data"] == {"k": "v"}


async def test_ignored_differences_are_neither_out_of_sync_nor_healed(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = _name("ignore")
    git_server.create_repo(app, {"app/config.yaml": configmap(app, {"color": "blue", "size": "m"})})
    rule = {"kind": "ConfigMap", "jsonPointers": ["/data/color"]}
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, ignoreDifferences=[rule])
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))

    body = json.dumps({"data": {"color": "red"}})
    kube_cluster.kubectl(
        "patch", "configmap", app, "-n", namespace, "--type=merge", "-p", body, "--field-manager=intruder"
    )
    await harness.until(lambda: engine.runtimes[app].status.to_dict().get("sync", {}).get("revision"))
    await engine.refresh_app(app)
    await harness.settle()
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"]["color"] == "red"
    assert harness.app(app)["sync"]["status"] == "Synced"

    body = json.dumps({"data": {"size": "xl"}})
    kube_cluster.kubectl(
        "patch", "configmap", app, "-n", namespace, "--type=merge", "-p", body, "--field-manager=intruder"
    )
    await harness.until(
        lambda: kube_cluster.get_json("configmap", app, "-n", namespace)["data"]["size"] == "m"
    )
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"]["color"] == "blue"
