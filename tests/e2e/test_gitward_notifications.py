"""``gitward run`` end to end: a sync the API refuses is told to a signed webhook and as a GitHub
commit status, a receiver that keeps failing shows as a ``NotificationFailed`` event in
``gitward app events``, the results are counted at ``/metrics``, and no secret reaches any output.

The receivers are loopback servers of this test; the CLI is driven as a user would type it.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GitwardProcess, application, deployment, free_port, unique
from tests.integration.notify_receivers import receiver_thread

pytestmark = pytest.mark.e2e


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    return env


def _secret(root: Path, name: str, value: str) -> str:
    path = root / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def _metrics(gitward: GitwardProcess) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{gitward.port}/metrics", headers={"Authorization": f"Bearer {gitward.token()}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return str(answer.read().decode())


def test_a_refused_sync_is_told_signed_and_as_a_commit_status_and_a_dead_receiver_is_an_event(
    tmp_path: Path, kube_cluster: Any
) -> None:
    app, namespace = unique("told"), f"gw-{unique('told')}"
    hook_secret, token = f"s3cr3t-{secrets.token_hex(16)}", f"ghp_{secrets.token_hex(18)}"
    slack_secret = secrets.token_hex(16)
    bad = yaml.safe_load(deployment("web"))
    bad["spec"]["selector"]["matchLabels"] = {"app": "other"}  # the API refuses it: 422
    with HttpGitServer(tmp_path / "git") as git, receiver_thread() as receiver:
        repo = git.create_repo("apps", {f"{app}/web.yaml": yaml.safe_dump(bad)})
        receiver.failing.add("/dead/")
        targets = [
            {"type": "webhook", "url": receiver.url("/hook"),
             "secretFile": _secret(tmp_path, "hook", hook_secret)},
            {"type": "github", "baseURL": receiver.url("/gh"), "repository": "org/apps",
             "tokenFile": _secret(tmp_path, "token", token)},
            {"type": "slack", "urlFile": _secret(tmp_path, "slack", receiver.url(f"/dead/{slack_secret}")),
             "retry": {"limit": 1, "backoff": {"duration": "100ms"}}},
        ]  # fmt: skip
        notification = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Notification",
            "metadata": {"name": "deploys"},
            "spec": {"triggers": ["SyncFailed"], "targets": targets},
        }
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        config = tmp_path / "config"
        config.mkdir()
        documents = [
            cluster,
            application(app, repo=git.url("apps"), path=app, namespace=namespace, self_heal=True),
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([*documents, notification], sort_keys=False))
        gitward = GitwardProcess(root=tmp_path, env=_environment(tmp_path), port=free_port())
        gitward.start(config)
        try:
            (hook,) = gitward.until(lambda: receiver.at("/hook"))
            assert hook.signed_with(hook_secret)
            document = hook.json()
            assert (document["trigger"], document["app"], document["commit"]) == (
                "SyncFailed",
                app,
                repo.head(),
            )
            assert "selector" in document["message"]
            (status,) = gitward.until(lambda: receiver.at("/gh/"))
            assert status.path == f"/gh/repos/org/apps/statuses/{repo.head()}"
            assert status.headers["Authorization"] == f"Bearer {token}"
            assert status.json()["state"] == "failure"

            def failed_events() -> list[dict[str, Any]]:
                events = gitward.ok("app", "events", app, "-o", "json").json()
                return [e for e in events if e["reason"] == "NotificationFailed"]

            (event,) = gitward.until(failed_events)
            assert event["message"] == (
                "notification deploys, target slack (slack): the SyncFailed message failed after 2 attempts: "
                "HTTP 500"
            )
            assert len(receiver.at("/dead/")) == 2
            table = gitward.ok("app", "events", app).stdout
            assert "NotificationFailed" in table
            metrics = _metrics(gitward)
            assert 'gitward_notifications_total{result="sent",target="deploys/webhook"} 1.0' in metrics
            assert 'gitward_notifications_total{result="failed",target="deploys/slack"} 1.0' in metrics
            gitward.outputs.append(gitward.ok("app", "get", app, "-o", "json").stdout)
            gitward.outputs.append(metrics)
        finally:
            gitward.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")
        shown = json.dumps(gitward.outputs) + gitward.log_text()
        assert app in shown
        for value in (hook_secret, token, slack_secret):
            assert value not in shown
