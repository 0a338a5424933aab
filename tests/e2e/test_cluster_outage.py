"""An API-server outage seen through the CLI: etcd of a cluster stops, then comes back.

The cluster is a dedicated one (stopping the shared one's etcd would break every other test). Its
etcd is stopped with SIGSTOP, the hardest kind of outage: connections stay open and nothing answers,
so kube-apiserver keeps running and only fails its readiness checks. Nothing the app owns changes, so
no reconcile fails on its own; what must hold is that the app shows the cluster as unreachable in its
status by itself, within seconds (the probe runs every 2 s; the bound below is generous so a loaded
machine does not fail it; the figure seen is in docs/reliability.md), that `gitward app refresh`
answers within its timeout, and that once etcd runs again the app is Synced and Healthy with no
outage message left.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import localcluster, toolchain
from devtools.gitservers import HttpGitServer
from tests.e2e.process import GitwardProcess, application, configmap, free_port, unique

pytestmark = pytest.mark.e2e

CLUSTER = "edge"


@dataclass(frozen=True)
class Outage:
    gitward: GitwardProcess
    app: str
    etcd_pid: int


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    return env


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    root = tmp_path_factory.mktemp("outage")
    name = f"outage-{os.getpid()}"
    cluster = localcluster.up(name)
    try:
        with HttpGitServer(root / "git") as git:
            app = unique("steady")
            git.create_repo("apps", {f"{app}/cfg.yaml": configmap("cfg", {"v": "1"})})
            spec = application(app, repo=git.url("apps"), path=app, namespace=f"gw-{app}", self_heal=True)
            spec["spec"]["destination"]["cluster"] = CLUSTER
            target = {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Cluster",
                "metadata": {"name": CLUSTER},
                "spec": {"kubeconfig": str(cluster.kubeconfig)},
            }
            config = root / "config"
            config.mkdir()
            (config / "gitward.yaml").write_text(yaml.safe_dump_all([target, spec], sort_keys=False))
            process = GitwardProcess(root=root, env=_environment(root), port=free_port())
            process.start(config)
            try:
                yield Outage(process, app, cluster.pids["etcd"])
            finally:
                process.kill()
    finally:
        with contextlib.suppress(ProcessLookupError):  # a stopped process would not end on SIGTERM
            os.kill(cluster.pids["etcd"], signal.SIGCONT)
        localcluster.down(name)


def _ready(summary: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in summary["conditions"] if c["type"] == "Ready")


def _synced_healthy(summary: dict[str, Any]) -> bool:
    return bool(summary["sync"]["status"] == "Synced" and summary["health"]["status"] == "Healthy")


def _shows_unreachable(summary: dict[str, Any]) -> bool:
    return bool(
        summary["sync"]["status"] == "Unknown"
        and summary["health"]["status"] == "Unknown"
        and f"cluster {CLUSTER} unreachable since" in summary["health"]["message"]
        and _ready(summary)["reason"] == "ClusterUnreachable"
    )


def test_a_stopped_etcd_shows_in_status_and_the_cli_keeps_answering(outage: Outage) -> None:
    gw, app = outage.gitward, outage.app
    gw.until(lambda: _synced_healthy(gw.app(app)))

    os.kill(outage.etcd_pid, signal.SIGSTOP)
    try:
        summary = gw.until(lambda: (found := gw.app(app)) and _shows_unreachable(found) and found, within=30)
        assert "etcd" in summary["message"]  # why, as the API server said it
        assert _ready(summary)["status"] == "False"

        refresh = gw.cli("app", "refresh", app, "--timeout", "20", "-o", "json", timeout=60)
        assert refresh.code == 0, refresh.stderr
        answered = refresh.json()
        assert answered["name"] == app
        assert answered["sync"]["status"] == "Unknown"
        listed = gw.ok("app", "list", "-o", "json").json()
        assert [a["sync"]["status"] for a in listed if a["name"] == app] == ["Unknown"]
    finally:
        os.kill(outage.etcd_pid, signal.SIGCONT)

    recovered = gw.until(lambda: (found := gw.app(app)) and _synced_healthy(found) and found, within=120)
    assert recovered["message"] == ""
    assert _ready(recovered)["status"] == "True"
    assert "unreachable" not in recovered["health"]["message"]
    assert gw.token() not in "".join(gw.outputs)
