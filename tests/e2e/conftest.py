"""The e2e tier: the real ``gitward run`` process, driven only through the ``gitward`` CLI.

One server process per module, against the shared local cluster and a smart-HTTP Git server. The CLI
runs with the same ``XDG_STATE_HOME`` as the server and no ``GITWARD_SERVER``/``GITWARD_TOKEN``, so
every command goes through server discovery (``server.json`` and the token file it names).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import E2eWorld, GitwardProcess, application, configmap, deployment, free_port, unique


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env["XDG_STATE_HOME"] = str(root / "xdg")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[E2eWorld]:
    root = tmp_path_factory.mktemp("e2e")
    web, manual = unique("web"), unique("manual")
    namespaces = {web: f"gw-{web}", manual: f"gw-{manual}"}
    with HttpGitServer(root / "git") as git:
        repo = git.create_repo(
            "apps",
            {
                f"{web}/cfg.yaml": configmap("cfg", {"color": "blue"}),
                f"{web}/deploy.yaml": deployment("web"),
                f"{manual}/cfg.yaml": configmap("cfg", {"size": "m"}),
            },
        )
        url = git.url("apps")
        config = root / "config"
        config.mkdir()
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        apps = [
            application(web, repo=url, path=web, namespace=namespaces[web], self_heal=True),
            application(manual, repo=url, path=manual, namespace=namespaces[manual], self_heal=False),
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, *apps], sort_keys=False))
        process = GitwardProcess(root=root, env=_environment(root), port=free_port())
        process.start(config)
        try:
            yield E2eWorld(process, git, repo, web, manual, namespaces)
        finally:
            process.kill()
            for namespace in namespaces.values():
                kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")
