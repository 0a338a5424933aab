"""A failing app as an operator meets it through the CLI and the log of ``gitward run``.

A PreSync hook whose pod fails (kwok's chaos stage: the pod label below) stops the sync: ``app get``
shows the reason, the hook and the server's message (in JSON and in the table, with the conditions),
``app list`` shows the message's first line, and ``gitward run --log-format json`` prints one line
when the operation starts, one when it ends and one for the failure, each with its fields.
"""

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
from tests.e2e.process import GitwardProcess, application, deployment, free_port, unique

pytestmark = pytest.mark.e2e

FAIL_LABEL = "pod-container-running-failed.stage.kwok.x-k8s.io"


def failing_hook(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {FAIL_LABEL: "true"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox:1.36"}],
                    },
                },
            },
        }
    )


@pytest.fixture
def failing(tmp_path: Path, kube_cluster: Any) -> Iterator[tuple[GitwardProcess, str, str]]:
    name = unique("hookfail")
    namespace = f"gw-{name}"
    with HttpGitServer(tmp_path / "git") as git:
        git.create_repo(
            "apps", {"app/migrate.yaml": failing_hook("migrate"), "app/web.yaml": deployment("web")}
        )
        app = application(name, repo=git.url("apps"), path="app", namespace=namespace, self_heal=True)
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        config = tmp_path / "config"
        config.mkdir()
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, app], sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env.update(XDG_STATE_HOME=str(tmp_path / "xdg"), NO_COLOR="1", COLUMNS="250")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        process = GitwardProcess(root=tmp_path, env=env, port=free_port())
        process.start(None, source=("--config", str(config), "--log-format", "json"))
        try:
            yield process, name, namespace
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_a_failing_hook_is_named_by_app_get_app_list_and_the_log(
    failing: tuple[GitwardProcess, str, str],
) -> None:
    gw, name, namespace = failing
    gw.until(lambda: gw.app(name).get("reason") == "HookFailed")
    hook = f"Job.batch/{namespace}/migrate"

    summary = gw.app(name)
    assert (summary["step"], summary["stepDetail"]) == ("hook", f"hook PreSync {hook}")
    assert summary["statusMessage"].startswith(f"PreSync hook {hook} failed: ")
    web = next(r for r in summary["resources"] if r["name"] == "web")
    assert (web["sync"], web["health"]) == ("OutOfSync", "Missing")

    table = gw.ok("app", "get", name).stdout
    fields = dict(line.split(":", 1) for line in table.splitlines() if ":" in line[:12])
    assert fields["Reason"].strip() == f"HookFailed (hook PreSync {hook})"
    assert fields["Message"].strip().startswith(f"PreSync hook {hook} failed: ")
    assert any(line.split() == ["TYPE", "STATUS", "REASON", "MESSAGE"] for line in table.splitlines())
    assert any(line.split()[:3] == ["Ready", "False", "HookFailed"] for line in table.splitlines())

    listed = gw.ok("app", "list").stdout.splitlines()
    assert listed[0].split()[-1] == "MESSAGE"
    row = next(line for line in listed if line.startswith(name))
    assert f"PreSync hook {hook}"[:40] in row

    def lines() -> list[dict[str, Any]]:
        text = gw.log_text().splitlines()
        return [json.loads(line) for line in text if line.startswith("{")]

    def about(message: str) -> list[dict[str, Any]]:
        return [line for line in lines() if line.get("app") == name and message in line["message"]]

    gw.until(lambda: about("failed at hook PreSync"))
    started = about("started")[0]
    assert started["level"] == "info"
    assert {"operation", "trigger", "revision"} <= set(started)
    assert started["phase"] == "Running"
    finished = next(line for line in about(f"operation {started['operation']} of {name} Failed"))
    assert finished["level"] == "warning"
    assert finished["phase"] == "Failed"
    assert finished["revision"] == started["revision"]
    assert {"changed", "pruned"} <= set(finished)
    failure = about("failed at hook PreSync")[0]
    assert failure["level"] == "warning"
    assert (failure["step"], failure["reason"]) == ("hook", "HookFailed")
    assert failure["error"].startswith(f"PreSync hook {hook} failed: ")
    assert failure["message"] == f"{name} failed at hook PreSync {hook}: HookFailed: {failure['error']}" + (
        f" (retrying in {failure['retry_in']:.0f}s)"
    )
