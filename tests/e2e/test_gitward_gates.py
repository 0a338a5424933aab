"""``gitward run`` end to end: suspend, resume, terminate and sync windows through the CLI a user types.

One server process for the module: a project ``team`` with a deny window open now (``freeze``,
covering ``frozen``) and one that opens in two hours (``nightly``); ``web`` in the default project
(automated, selfHeal); ``held`` with ``spec.suspend: true``. What is checked is what a user sees: the
CLI's output and exit status, and the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GITWARD, GitwardProcess, application, configmap, free_port, unique

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    team: str
    web: str
    frozen: str
    held: str
    namespace: str
    nightly: datetime  # when the closed deny window opens next

    def as_token(self, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.gitward.env, "GITWARD_TOKEN": token}
        out = subprocess.run([str(GITWARD), *args], env=env, capture_output=True, text=True, timeout=300)
        self.gitward.outputs += [out.stdout, out.stderr]
        return out


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("gates")
    team, web, frozen, held = unique("team"), unique("web"), unique("frozen"), unique("held")
    namespace = f"gw-{web}"
    nightly = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    windows = [
        {
            "name": "freeze",
            "kind": "deny",
            "schedule": "* * * * *",
            "duration": "1h",
            "applications": [frozen],
        },
        {
            "name": "nightly",
            "kind": "deny",
            "schedule": f"{nightly.minute} {nightly.hour} * * *",
            "duration": "30m",
            "namespaces": ["never-*"],
        },
    ]
    with HttpGitServer(root / "git") as git:
        git.create_repo(
            "apps", {f"{n}/cfg.yaml": configmap(f"cfg-{n}", {"v": "1"}) for n in (web, frozen, held)}
        )
        url = git.url("apps")
        apps = [
            application(n, repo=url, path=n, namespace=namespace, self_heal=True) for n in (web, frozen, held)
        ]
        apps[1]["spec"]["project"] = team
        apps[2]["spec"]["suspend"] = True
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        project = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Project",
            "metadata": {"name": team},
            "spec": {"syncWindows": windows},
        }
        config = root / "config"
        config.mkdir()
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, project, *apps], sort_keys=False))
        process = GitwardProcess(root=root, env=_environment(root), port=free_port())
        process.start(config)
        try:
            yield World(process, team, web, frozen, held, namespace, nightly)
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def _live(kube_cluster: Any, world: World, app: str) -> Any:
    found = kube_cluster.kubectl(
        "get", "configmap", f"cfg-{app}", "-n", world.namespace, "-o", "json", check=False
    )
    return json.loads(found).get("data") if found else None


def _synced_healthy(summary: dict[str, Any]) -> bool:
    return bool(summary["sync"]["status"] == "Synced" and summary["health"]["status"] == "Healthy")


def test_project_windows_shows_which_windows_are_open(world: World) -> None:
    gw = world.gitward
    table = gw.ok("project", "windows", world.team).stdout
    assert "1 of 2 window(s) open" in table
    assert "freeze" in table
    assert world.frozen in table
    expected = f"closed until {world.nightly.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    assert expected in table
    windows = {w["name"]: w for w in gw.ok("project", "windows", world.team, "-o", "json").json()["windows"]}
    assert windows["freeze"]["active"] is True
    assert windows["nightly"]["active"] is False
    assert windows["freeze"]["apps"] == [world.frozen]
    missing = gw.cli("project", "windows", "no-such-project")
    assert missing.code == 1
    assert "not found" in missing.stderr


def test_a_blocked_app_says_which_window_and_a_manual_sync_is_refused(
    world: World, kube_cluster: Any
) -> None:
    gw = world.gitward
    gw.until(lambda: (gw.app(world.frozen).get("syncWindow") or {}).get("message"))
    assert gw.app(world.frozen)["syncWindow"]["message"] == "blocked by window freeze"
    assert "Sync window" in gw.ok("app", "get", world.frozen).stdout
    assert _live(kube_cluster, world, world.frozen) is None
    refused = gw.cli("app", "sync", world.frozen)
    assert refused.code == 1
    assert "blocked by window freeze" in refused.stderr
    assert "does not allow manual syncs" in refused.stderr
    assert _live(kube_cluster, world, world.frozen) is None


def test_suspend_keeps_a_kubectl_patch_and_resume_heals_it(world: World, kube_cluster: Any) -> None:
    gw, app = world.gitward, world.web
    gw.until(lambda: _synced_healthy(gw.app(app)))
    suspended = gw.ok("app", "suspend", app, "-o", "json").json()
    assert suspended["suspended"] is True
    assert suspended["suspendedBy"] == "user"
    assert "Suspended" in gw.ok("app", "get", app).stdout

    patch = json.dumps({"data": {"v": "patched"}})
    kube_cluster.kubectl(
        "patch", "configmap", f"cfg-{app}", "-n", world.namespace, "--type=merge", "-p", patch
    )
    gw.until(lambda: gw.app(app)["sync"]["status"] == "OutOfSync")
    gw.ok("app", "refresh", app)
    assert _live(kube_cluster, world, app) == {"v": "patched"}

    resumed = gw.ok("app", "resume", app, "-o", "json").json()
    assert resumed["suspended"] is False
    gw.until(lambda: _live(kube_cluster, world, app) == {"v": "1"})
    gw.until(lambda: _synced_healthy(gw.app(app)))


def test_spec_suspend_shows_and_only_the_configuration_lifts_it(world: World, kube_cluster: Any) -> None:
    gw = world.gitward
    summary = gw.app(world.held)
    assert summary["suspended"] is True
    assert summary["suspendedBy"] == "spec"
    assert "spec.suspend" in gw.ok("app", "get", world.held).stdout
    refused = gw.cli("app", "resume", world.held)
    assert refused.code == 1
    assert "spec.suspend" in refused.stderr
    assert _live(kube_cluster, world, world.held) is None


def test_terminate_with_nothing_running_says_so(world: World) -> None:
    gw = world.gitward
    gw.until(lambda: _synced_healthy(gw.app(world.web)))
    idle = gw.cli("app", "terminate", world.web)
    assert idle.code == 1
    assert "nothing to stop" in idle.stderr
    assert gw.app(world.web)["terminating"] is False


def test_a_viewer_may_not_suspend_terminate_or_resume(world: World) -> None:
    token = world.gitward.ok("token", "create", "--role", "viewer", "--name", "gates-viewer").stdout.strip()
    for command in ("suspend", "resume", "terminate"):
        out = world.as_token(token, "app", command, world.web)
        assert out.returncode == 1, out.stdout
        assert "403" in out.stderr
        assert f"may not {'suspend' if command == 'resume' else command}" in out.stderr
    windows = world.as_token(token, "project", "windows", world.team, "-o", "json")
    assert windows.returncode == 0, windows.stderr
    assert world.gitward.app(world.web)["suspended"] is False
