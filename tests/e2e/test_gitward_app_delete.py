"""``gitward app delete`` and the live config end to end: deleting an app the config declares is
refused naming its file; removing it from the file (no restart) releases its objects (orphan), which
stay on the cluster without gitward's marks, and the app is gone from ``app get``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GitwardProcess, application, configmap, free_port, unique

from gitward.core.marks import TRACKING_ANNOTATION

pytestmark = pytest.mark.e2e


def _write(config: Path, kubeconfig: Path, *apps: dict[str, Any]) -> None:
    cluster = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "local"},
        "spec": {"kubeconfig": str(kubeconfig)},
    }
    (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, *apps], sort_keys=False))


@pytest.fixture
def running(tmp_path: Path, kube_cluster: Any) -> Iterator[tuple[GitwardProcess, Path, dict[str, Any], str]]:
    name = unique("leaver")
    namespace = f"gw-{name}"
    with HttpGitServer(tmp_path / "git") as git:
        git.create_repo("apps", {"app/kept.yaml": configmap("kept", {"k": "v"})})
        app = application(name, repo=git.url("apps"), path="app", namespace=namespace, self_heal=True)
        config = tmp_path / "config"
        config.mkdir()
        _write(config, kube_cluster.kubeconfig, app)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env.update(XDG_STATE_HOME=str(tmp_path / "xdg"), NO_COLOR="1", COLUMNS="200")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        process = GitwardProcess(root=tmp_path, env=env, port=free_port())
        process.start(config)
        try:
            yield process, config, app, namespace
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_delete_is_refused_for_a_declared_app_and_removing_it_from_the_file_releases_its_objects(
    running: tuple[GitwardProcess, Path, dict[str, Any], str], kube_cluster: Any
) -> None:
    gw, config, app, namespace = running
    name = app["metadata"]["name"]
    gw.until(lambda: gw.app(name)["sync"]["status"] == "Synced")

    refused = gw.cli("app", "delete", name, "--cascade", "foreground")
    assert refused.code == 1
    assert "gitward.yaml" in refused.stderr
    assert "remove it there" in refused.stderr
    assert kube_cluster.kubectl("get", "configmap", "kept", "-n", namespace, "-o", "name").strip()

    _write(config, kube_cluster.kubeconfig)  # the app leaves the file; gitward keeps running
    gw.until(lambda: gw.cli("app", "get", name).code != 0)
    assert "not found" in gw.cli("app", "get", name).stderr

    def unmarked() -> bool:
        live = json.loads(kube_cluster.kubectl("get", "configmap", "kept", "-n", namespace, "-o", "json"))
        return TRACKING_ANNOTATION not in (live["metadata"].get("annotations") or {})

    gw.until(unmarked)
    assert "config reloaded" in gw.log_text()
