"""``gitward appset list|get|preview`` against the real ``gitward run`` process: a set over a Git
folder makes its apps; after a push nobody announced, ``preview`` shows the app a new folder would
add (and the others unchanged) while nothing is created; an unknown set is an error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer, WorkRepo
from tests.e2e.process import GitwardProcess, configmap, free_port, unique

pytestmark = pytest.mark.e2e


@pytest.fixture
def running(tmp_path: Path, kube_cluster: Any) -> Iterator[tuple[GitwardProcess, WorkRepo, str]]:
    name = unique("shop")
    namespace = f"gw-{name}"
    with HttpGitServer(tmp_path / "git") as git:
        repo = git.create_repo(
            "apps",
            {
                "apps/web/cm.yaml": configmap("web", {"k": "v"}),
                "apps/api/cm.yaml": configmap("api", {"k": "v"}),
            },
        )
        url = git.url("apps")
        appset = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": name},
            "spec": {
                "goTemplate": True,
                "generators": [
                    {"git": {"repoURL": url, "revision": "main", "directories": [{"path": "apps/*"}]}}
                ],
                "template": {
                    "metadata": {"name": f"{name}-{{{{ .path.basename }}}}"},
                    "spec": {
                        "source": {"repoURL": url, "revision": "main", "path": "{{ .path.path }}"},
                        "destination": {"cluster": "local", "namespace": namespace},
                        "syncPolicy": {"automated": {"prune": True}, "options": ["CreateNamespace=true"]},
                    },
                },
            },
        }
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        config = tmp_path / "config"
        config.mkdir()
        (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, appset], sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env.update(XDG_STATE_HOME=str(tmp_path / "xdg"), NO_COLOR="1", COLUMNS="200")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        process = GitwardProcess(root=tmp_path, env=env, port=free_port())
        process.start(config)
        try:
            yield process, repo, name
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_preview_shows_what_a_generation_would_make_and_changes_nothing(
    running: tuple[GitwardProcess, WorkRepo, str],
) -> None:
    gw, repo, name = running
    gw.until(lambda: gw.cli("app", "get", f"{name}-web", "-o", "json").code == 0)
    gw.until(lambda: gw.app(f"{name}-web")["sync"]["status"] == "Synced")

    listed = gw.ok("appset", "list").stdout.splitlines()
    assert listed[0].split()[:5] == ["NAME", "STATE", "GENERATORS", "POLICY", "APPS"]
    assert listed[1].split()[:5] == [name, "Generated", "git", "create-update", "2"]
    got = gw.ok("appset", "get", name, "-o", "json").json()
    assert got["applications"] == [f"{name}-api", f"{name}-web"]
    assert got["kind"] == "gitward.dev/v1alpha1"

    repo.commit({"apps/new/cm.yaml": configmap("new", {"k": "v"})}, message="a new folder, no webhook")
    preview = gw.ok("appset", "preview", name)
    rows = {
        line.split()[1]: line.split()[0] for line in preview.stdout.splitlines()[2:] if len(line.split()) > 1
    }
    assert rows == {f"{name}-new": "create", f"{name}-api": "unchanged", f"{name}-web": "unchanged"}
    assert "nothing changed" in preview.stdout
    as_json = gw.ok("appset", "preview", name, "-o", "json").json()
    assert {a["name"]: a["action"] for a in as_json["apps"]}[f"{name}-new"] == "create"
    assert as_json["apps"][0]["destination"]["cluster"] == "local"

    # the preview made nothing
    assert gw.cli("app", "get", f"{name}-new").code == 1
    assert gw.ok("appset", "get", name, "-o", "json").json()["applications"] == [f"{name}-api", f"{name}-web"]

    unknown = gw.cli("appset", "preview", "nope")
    assert unknown.code == 1
    assert "ApplicationSet 'nope' not found" in unknown.stderr
    assert not any(gw.token() in out for out in gw.outputs)
