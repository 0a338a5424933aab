"""``gitward run`` with a HealthCheck and an installed health plugin, and ``gitward health explain``.

The plugin package is laid out with its ``.dist-info`` in a folder on the server process's
``PYTHONPATH``: the process finds it through the ``gitward.health`` entry point at start, as it would
a package installed with pip. What is checked is what a user sees: the CLI's output and exit status.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GitwardProcess, application, free_port, unique
from tests.integration.engine.healthsupport import PLUGIN_GROUP, crd, custom, install_crds, lay_out_plugin

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    app: str
    namespace: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("health")
    group = f"g{uuid.uuid4().hex[:8]}.health.example.com"
    install_crds(kube_cluster, crd(group, "Widget"), crd(PLUGIN_GROUP, "Gadget"))
    app = unique("shop")
    namespace = f"gw-{app}"
    site = lay_out_plugin(root / "site")
    with HttpGitServer(root / "git") as git:
        git.create_repo(
            "apps",
            {
                f"{app}/widget.yaml": custom(group, "Widget", "blue", size=1),
                f"{app}/gadget.yaml": custom(PLUGIN_GROUP, "Gadget", "held", hold=True),
            },
        )
        config = root / "config"
        config.mkdir()
        check = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "HealthCheck",
            "metadata": {"name": "widgets"},
            "spec": {
                "group": group,
                "kind": "Widget",
                "rules": [{"health": "Progressing", "when": "!has(status.phase)", "message": "not started"}],
            },
        }
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        documents = [
            cluster,
            check,
            application(app, repo=git.url("apps"), path=app, namespace=namespace, self_heal=True),
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
        process = GitwardProcess(root=root, env=env, port=free_port())
        process.start(config)
        try:
            process.until(lambda: len(process.app(app).get("resources") or []) == 2)
            yield World(process, app, namespace)
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_explain_names_the_healthcheck_rule_and_its_expression(world: World) -> None:
    out = world.gitward.ok("health", "explain", "Widget", "blue").stdout
    assert "Health:      Progressing" in out
    assert "Message:     not started" in out
    assert "Decided by:  HealthCheck widgets, rule 1" in out
    assert "Expression:  !has(status.phase)" in out
    assert f"Application: {world.app}" in out


def test_explain_names_the_plugin_the_server_process_found(world: World) -> None:
    answer = world.gitward.ok(
        "health", "explain", "Gadget", "held", "--app", world.app, "-n", world.namespace, "-o", "json"
    ).json()
    assert answer["health"] == {"status": "Suspended", "message": "held by acme"}
    assert answer["decidedBy"]["source"] == "plugin"
    assert answer["decidedBy"]["name"] == "acme"
    assert world.gitward.app(world.app)["health"]["status"] == "Progressing"  # the worst: the Widget


def test_explain_of_an_object_no_app_has_fails_with_one_line(world: World) -> None:
    result = world.gitward.cli("health", "explain", "Widget", "nowhere")
    assert result.code == 1
    assert "no application you can read has a Widget named 'nowhere'" in result.stderr
    wrong = world.gitward.cli("health", "explain", "Widget", "blue", "--app", world.app, "-n", "elsewhere")
    assert wrong.code == 1
    assert "has no Widget named 'blue' in namespace elsewhere" in wrong.stderr
