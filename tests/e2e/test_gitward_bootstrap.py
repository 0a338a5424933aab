"""``gitward bootstrap`` against a real smart-HTTP Git server (with a password) and the local cluster.

One bootstrap per module into a fresh namespace: the commit and its files are read back from the
bare repository, the cluster holds the CRDs, the Application, the credentials Secret and the
Deployment; a second run commits nothing; the committed manifests, read by ``gitward run
--from-cluster`` (outside a pod, with ``--kubeconfig``), make gitward's own Application Synced (the
Deployment cannot run the image on kwok's fake nodes, but it exists and is gitward's). A bad URL and
a path holding other files fail with nothing applied and, for the path, nothing committed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.gitservers import HttpGitServer, git
from tests.e2e.crdsupport import cluster_mode_environment, settle_crds
from tests.e2e.process import GitwardProcess, free_port, unique
from typer.testing import CliRunner

from gitward.cli.main import app as cli
from gitward.core.marks import TRACKING_ANNOTATION
from gitward.install.manifests import APPLY_ROLE, CONTROLLER_ROLE

USER, PASSWORD = "deploy", "Bq7-bootstrap-pass-40"
CLUSTER_PATH = "clusters/test"


@dataclass(frozen=True)
class Booted:
    namespace: str
    git: HttpGitServer
    bare: Path
    url: str
    first: str  # output of the first run
    root: Path
    kube: Any
    password_file: Path


def _head(bare: Path) -> str:
    return git("--git-dir", str(bare), "rev-parse", "refs/heads/main").strip()


def _show(bare: Path, path: str) -> str:
    return git("--git-dir", str(bare), "show", f"refs/heads/main:{path}")


def _bootstrap(booted_kube: Any, url: str, namespace: str, *extra: str, path: str = CLUSTER_PATH) -> Any:
    args = ["bootstrap", "--repo", url, "--path", path, "--namespace", namespace]
    args += ["--kubeconfig", str(booted_kube.kubeconfig), *extra]
    return CliRunner().invoke(cli, args)


def _cluster_roles(kube: Any) -> set[str]:
    out = kube.kubectl("get", "clusterrole", CONTROLLER_ROLE, APPLY_ROLE, "-o", "name", check=False)
    return {line.split("/")[-1] for line in out.split()}


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[Booted]:
    root = tmp_path_factory.mktemp("bootstrap")
    settle_crds(kube_cluster)
    had_crds = bool(
        kube_cluster.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=gitward", "-o", "name")
    )
    had_roles = _cluster_roles(kube_cluster)
    namespace = unique("gw-boot")
    password_file = root / "password"
    password_file.write_text(PASSWORD + "\n")
    with HttpGitServer(root / "git", username=USER, password=PASSWORD) as server:
        server.create_repo("fleet", {"README.md": "the fleet\n"})
        url, bare = server.url("fleet"), server.repos_dir / "fleet.git"
        try:
            result = _bootstrap(
                kube_cluster, url, namespace, "--username", USER, "--password-file", str(password_file)
            )
            assert result.exit_code == 0, result.output
            yield Booted(namespace, server, bare, url, result.output, root, kube_cluster, password_file)
        finally:
            kube_cluster.kubectl(
                "delete", "applications.gitward.dev", "--all", "-n", namespace, "--wait=false", check=False
            )
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            for role in (CONTROLLER_ROLE, APPLY_ROLE):
                kube_cluster.kubectl("delete", "clusterrolebinding", f"{role}-{namespace}", check=False)
                if role not in had_roles:
                    kube_cluster.kubectl("delete", "clusterrole", role, check=False)
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--timeout=90s", check=False
                )


def test_bootstrap_commits_the_install_and_the_application(booted: Booted) -> None:
    assert f"committed {_head(booted.bare)[:12]} to main of {booted.url}" in booted.first
    subject = git("--git-dir", str(booted.bare), "log", "-1", "--format=%s%n%an", "refs/heads/main")
    assert subject.splitlines() == [
        f"gitward bootstrap: {CLUSTER_PATH}/gitward for namespace {booted.namespace}",
        "gitward bootstrap",
    ]
    assert _show(booted.bare, "README.md").strip() == "the fleet"  # the branch's history is kept
    listed = git("--git-dir", str(booted.bare), "ls-tree", "-r", "--name-only", "refs/heads/main")
    assert sorted(listed.split()) == [
        "README.md",
        f"{CLUSTER_PATH}/gitward/bootstrap.yaml",
        f"{CLUSTER_PATH}/gitward/install.yaml",
    ]

    install = [d for d in yaml.safe_load_all(_show(booted.bare, f"{CLUSTER_PATH}/gitward/install.yaml")) if d]
    kinds = {d["kind"] for d in install}
    assert {"CustomResourceDefinition", "Namespace", "Deployment", "ClusterRole"} <= kinds
    for doc in install:
        annotations = doc["metadata"].get("annotations") or {}
        protected = doc["kind"] in ("CustomResourceDefinition", "Namespace")
        assert (annotations.get("gitward.dev/sync-options") == "Prune=false") == protected, doc["kind"]
        assert TRACKING_ANNOTATION not in annotations  # marks are put on by the apply, not in Git

    own = [d for d in yaml.safe_load_all(_show(booted.bare, f"{CLUSTER_PATH}/gitward/bootstrap.yaml")) if d]
    repository, application = own
    assert repository["kind"] == "Repository"
    assert repository["spec"] == {"url": booted.url, "secretRef": {"name": "gitward-bootstrap-git"}}
    assert application["kind"] == "Application"
    assert application["metadata"] == {"name": booted.namespace, "namespace": booted.namespace}
    spec = application["spec"]
    assert spec["source"]["repoURL"] == booted.url
    assert spec["source"]["path"] == CLUSTER_PATH
    assert spec["source"]["directory"]["exclude"] == ["gitward/bootstrap.yaml"]
    assert spec["destination"] == {"cluster": "in-cluster", "namespace": booted.namespace}
    assert spec["deletionPolicy"] == "orphan"

    # No credential anywhere: not in Git, not in the output.
    everything = git("--git-dir", str(booted.bare), "log", "-p", "refs/heads/main")
    assert PASSWORD not in everything
    assert PASSWORD not in booted.first


def test_bootstrap_applies_the_install_the_secret_and_the_application(booted: Booted) -> None:
    kube, ns = booted.kube, booted.namespace
    kube.kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/applications.gitward.dev")
    app = kube.get_json("applications.gitward.dev", ns, "-n", ns)
    assert app["spec"]["source"]["repoURL"] == booted.url
    secret = kube.get_json("secret", "gitward-bootstrap-git", "-n", ns)
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD
    assert base64.b64decode(secret["data"]["username"]).decode() == USER
    deployment = kube.get_json("deployment", "gitward", "-n", ns)
    mark = deployment["metadata"]["annotations"][TRACKING_ANNOTATION]
    assert mark == f"{ns}:apps/Deployment:{ns}/gitward"  # applied as the Application would apply it
    assert f"applied Secret {ns}/gitward-bootstrap-git (credentials)" in booted.first


def test_a_second_run_commits_nothing(booted: Booted) -> None:
    before = _head(booted.bare)
    again = _bootstrap(
        booted.kube,
        booted.url,
        booted.namespace,
        "--username",
        USER,
        "--password-file",
        str(booted.password_file),
    )
    assert again.exit_code == 0, again.output
    assert f"nothing to commit: {CLUSTER_PATH}/gitward/ is up to date" in again.output
    assert _head(booted.bare) == before
    assert PASSWORD not in again.output


_CRD = "CustomResourceDefinition"
_DROPPED_CRD = "notifications.gitward.dev"


def _drop_from_install(booted: Booted, dropped: set[tuple[str, str]]) -> None:
    """Commit install.yaml without the named objects, keeping its header (it stays bootstrap's)."""
    repo = booted.git.repos["fleet"]
    git("pull", "-q", str(booted.bare), "main", cwd=repo.work)
    name = f"{CLUSTER_PATH}/gitward/install.yaml"
    text = (repo.work / name).read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    kept = [d for d in yaml.safe_load_all(text) if d and (d["kind"], d["metadata"]["name"]) not in dropped]
    repo.commit({name: header + yaml.safe_dump_all(kept, explicit_start=True)}, message="drop two objects")


def test_the_committed_manifests_make_gitward_manage_itself(booted: Booted) -> None:
    kube, ns = booted.kube, booted.namespace
    root = booted.root / "run"
    root.mkdir()
    process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=free_port())
    process.start(None, source=("--from-cluster", "--namespace", ns, "--kubeconfig", str(kube.kubeconfig)))
    try:

        def synced() -> dict[str, Any] | None:
            status = kube.get_json("applications.gitward.dev", ns, "-n", ns).get("status") or {}
            return status if (status.get("sync") or {}).get("status") == "Synced" else None

        status = process.until(synced)
        assert status["sync"]["revision"] == _head(booted.bare)
        kinds = {row["kind"] for row in status["resources"]}
        assert {"CustomResourceDefinition", "Namespace", "Deployment", "ServiceAccount"} <= kinds
        summary = process.app(ns)
        assert summary["sync"]["status"] == "Synced", summary
        assert kube.get_json("deployment", "gitward", "-n", ns)["metadata"]["name"] == "gitward"

        # A commit that drops the PodDisruptionBudget and a CRD: the PDB is pruned (prune is on), the
        # CRD stays (Prune=false): deleting it would delete every object of its kind.
        _drop_from_install(booted, {("PodDisruptionBudget", "gitward"), (_CRD, _DROPPED_CRD)})
        process.ok("app", "refresh", ns)
        process.until(lambda: not kube.kubectl("get", "pdb", "-n", ns, "-o", "name").strip())
        head = _head(booted.bare)

        def at_head() -> dict[str, Any] | None:
            status = kube.get_json("applications.gitward.dev", ns, "-n", ns).get("status") or {}
            return status if (status.get("sync") or {}).get("revision") == head else None

        status = process.until(at_head)
        assert kube.get_json("crd", _DROPPED_CRD)["metadata"]["name"] == _DROPPED_CRD
        # Kept, and shown: the app is OutOfSync until a person deletes the CRD or puts it back.
        (row,) = [r for r in status["resources"] if r["name"] == _DROPPED_CRD]
        assert row["sync"] == "OutOfSync"
        assert status["sync"]["status"] == "OutOfSync"
        assert PASSWORD not in process.log_text()
    finally:
        process.kill()


def test_a_bad_repository_url_fails_and_applies_nothing(booted: Booted) -> None:
    namespace = unique("gw-boot-bad")
    url = booted.url.replace("/fleet.git", "/missing.git")
    result = _bootstrap(
        booted.kube, url, namespace, "--username", USER, "--password-file", str(booted.password_file)
    )
    assert result.exit_code == 1
    assert "cannot clone main of" in result.output
    assert PASSWORD not in result.output
    assert not booted.kube.kubectl("get", "namespace", namespace, "-o", "name", check=False).strip()


def test_a_path_holding_other_files_is_refused(booted: Booted) -> None:
    repo = booted.git.repos["fleet"]
    git("pull", "-q", str(booted.bare), "main", cwd=repo.work)
    repo.commit({"clusters/other/podinfo.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"})
    before = _head(booted.bare)
    namespace = unique("gw-boot-other")
    result = _bootstrap(
        booted.kube,
        booted.url,
        namespace,
        "--username",
        USER,
        "--password-file",
        str(booted.password_file),
        path="clusters/other",
    )
    assert result.exit_code == 1
    assert "already holds files not written by gitward bootstrap (podinfo.yaml)" in result.output
    assert _head(booted.bare) == before
    assert not booted.kube.kubectl("get", "namespace", namespace, "-o", "name", check=False).strip()
