"""``gitward app terminate`` end to end: a ``gitward app sync`` that waits for a wave is stopped by a
second CLI call, ends Terminated, and the next wave is never applied."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GITWARD, GitwardProcess, application, configmap, free_port, unique

pytestmark = pytest.mark.e2e


def _with_wave(document: str, wave: int) -> str:
    obj = yaml.safe_load(document)
    obj["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return yaml.safe_dump(obj)


def _load_balancer(name: str) -> str:
    """A Service no controller of the local cluster ever gives an address: Progressing for good."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80}]},
    }
    return _with_wave(yaml.safe_dump(service), 0)


@pytest.fixture(scope="module")
def stuck(
    tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any
) -> Iterator[tuple[GitwardProcess, str, str]]:
    root = tmp_path_factory.mktemp("terminate")
    name = unique("stuck")
    namespace = f"gw-{name}"
    with HttpGitServer(root / "git") as git:
        git.create_repo(
            "apps",
            {
                "app/lb.yaml": _load_balancer("lb"),
                "app/late.yaml": _with_wave(configmap("late", {"k": "v"}), 1),
            },
        )
        app = application(name, repo=git.url("apps"), path="app", namespace=namespace, self_heal=False)
        del app["spec"]["syncPolicy"]["automated"]  # only the test's sync runs
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        config = root / "config"
        config.mkdir()
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, app], sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        process = GitwardProcess(root=root, env=env, port=free_port())
        process.start(config)
        try:
            yield process, name, namespace
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_terminate_stops_a_sync_that_waits_for_a_wave(
    stuck: tuple[GitwardProcess, str, str], kube_cluster: Any
) -> None:
    gw, name, namespace = stuck
    sync = subprocess.Popen(
        [str(GITWARD), "app", "sync", name, "-o", "json"],
        env=gw.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        gw.until(lambda: gw.app(name).get("running"))
        answer = gw.ok("app", "terminate", name, "-o", "json").json()
        assert answer["terminating"] is True
        out, err = sync.communicate(timeout=180)
    finally:
        if sync.poll() is None:
            sync.kill()
    assert sync.returncode == 1, err
    assert json.loads(out)["phase"] == "Terminated"
    late = kube_cluster.kubectl(
        "get", "configmap", "late", "-n", namespace, "--ignore-not-found", "-o", "name"
    )
    assert late.strip() == ""  # wave 1 never started
    summary = gw.app(name)
    assert summary["terminating"] is False
    assert summary["operation"]["phase"] == "Terminated"
    history = gw.ok("app", "history", name, "-o", "json").json()
    assert history[0]["phase"] == "Terminated"
    assert "terminate" in gw.ok("app", "events", name).stdout.lower()
    idle = gw.cli("app", "terminate", name)
    assert idle.code == 1
    assert "nothing to stop" in idle.stderr
