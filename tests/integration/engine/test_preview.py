"""``gitward preview`` against a real cluster and a real Git server over smart HTTP on loopback.

The base (``main``) is deployed by the engine first; then branches change things and the preview of
each is checked: exactly the changes of the branch, masked Secrets, policy violations, a render
failure, and nothing written anywhere (every object's resourceVersion in the apps' namespaces and
the engine's state database are the same before and after).

The preview runs in-process (``run_preview``) for the report, and as the ``gitward`` command for
the Markdown, the JSON and the exit codes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.gitservers import HttpGitServer, WorkRepo
from tests.integration.engine.harness import Harness, application, configmap

from gitward.reconcile.preview import ConfigSource, PreviewRequest, run_preview

pytestmark = pytest.mark.integration

GITWARD = Path(sys.executable).with_name("gitward")
BASE_SECRET = "base-s3cret-value-71"
HEAD_SECRET = "head-s3cret-value-93"
# Names no other test gives an app: marks on the shared cluster name apps by name only.
APPS = ("pvweb", "pvapi", "pvfresh", "pvgone")


def _secret(value: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "web-secret"},
            "stringData": {"password": value},
        }
    )


@dataclass
class World:
    root: Path
    url: str
    repo: WorkRepo
    kubeconfig: Path
    namespaces: dict[str, str]
    local_config: Path  # the config the engine ran with (the same apps as the repository's)
    state: Path

    def run(self, head: str, *, config: str | Path = "gitward", base: str = "main") -> dict[str, Any]:
        request = PreviewRequest(repo=self.url, base=base, head=head, config=_source(config))
        return asyncio.run(run_preview(request))

    def cli(self, *args: str, repo: str = "") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env["XDG_STATE_HOME"] = str(self.root / "xdg")  # proves no state folder is made
        return subprocess.run(
            [str(GITWARD), "preview", "--repo", repo or self.url, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )


def _source(config: str | Path) -> ConfigSource:
    return ConfigSource(local=config) if isinstance(config, Path) else ConfigSource(in_repository=config)


def _config_documents(url: str, kubeconfig: Path, namespaces: dict[str, str], *names: str) -> str:
    cluster = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "local"},
        "spec": {"kubeconfig": str(kubeconfig)},
    }
    apps = [
        application(
            name,
            repo=url,
            path=f"apps/{name.removeprefix('pv')}",
            namespace=namespaces[name],
            automated=name != "pvfresh",
        )
        for name in names
    ]
    return yaml.safe_dump_all([cluster, *apps], sort_keys=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("preview")
    suffix = uuid.uuid4().hex[:6]
    namespaces = {name: f"pv-{suffix}-{name}" for name in (*APPS, "pvextra", "pvbad")}
    with HttpGitServer(root / "git") as git:
        url = git.url("apps")
        files = {
            "apps/web/cfg.yaml": configmap("web-cfg", {"color": "blue"}),
            "apps/web/secret.yaml": _secret(BASE_SECRET),
            "apps/web/old.yaml": configmap("old", {"keep": "no"}),
            "apps/api/cfg.yaml": configmap("api-cfg", {"size": "m"}),
            "apps/fresh/a.yaml": configmap("fresh-a", {"n": "1"}),
            "apps/fresh/b.yaml": configmap("fresh-b", {"n": "2"}),
            "apps/gone/cfg.yaml": configmap("gone-cfg", {"bye": "soon"}),
            "apps/extra/cfg.yaml": configmap("extra-cfg", {"new": "yes"}),
            "gitward/apps.yaml": _config_documents(url, kube_cluster.kubeconfig, namespaces, *APPS),
        }
        repo = git.create_repo("apps", files)
        harness = Harness(root / "engine", kube_cluster.kubeconfig)
        (harness.config_dir / "apps.yaml").write_text(files["gitward/apps.yaml"])
        asyncio.run(_deploy(harness))
        _branches(repo, url, kube_cluster.kubeconfig, namespaces)
        try:
            yield World(
                root, url, repo, kube_cluster.kubeconfig, namespaces, harness.config_dir, harness.state
            )
        finally:
            for namespace in namespaces.values():
                kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


async def _deploy(harness: Harness) -> None:
    """The engine syncs the base (``fresh`` is not automated: never synced), then stops."""
    await harness.start()
    try:
        await harness.settle()
        await harness.until(lambda: all(harness.is_synced_healthy(n) for n in ("pvweb", "pvapi", "pvgone")))
    finally:
        await harness.stop()


def _branches(repo: WorkRepo, url: str, kubeconfig: Path, namespaces: dict[str, str]) -> None:
    main = repo.head()
    config = "gitward/apps.yaml"
    repo.commit(
        {
            "apps/web/cfg.yaml": configmap("web-cfg", {"color": "green"}),
            "apps/web/secret.yaml": _secret(HEAD_SECRET),
            "apps/web/old.yaml": None,
            "apps/fresh/b.yaml": None,
            config: _config_documents(url, kubeconfig, namespaces, "pvweb", "pvapi", "pvfresh", "pvextra"),
        },
        branch="feature",
        message="change web, add extra, remove gone",
    )
    _branch_from(repo, main, "violating")
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "restricted"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"cluster": "local", "namespace": "allowed-*"}],
            "namespaceResourceWhitelist": [{"group": "", "kind": "ConfigMap"}],
        },
    }
    bad = application("pvbad", repo=url, path="apps/web", namespace=namespaces["pvbad"], project="restricted")
    documents = _config_documents(url, kubeconfig, namespaces, *APPS)
    repo.commit({config: documents + "---\n" + yaml.safe_dump_all([project, bad])}, message="a forbidden app")
    _branch_from(repo, main, "broken")
    repo.commit({"apps/web/cfg.yaml": "kind: [unclosed\n"}, message="break web")
    _pull_request_head(repo, main)
    _branch_from(repo, main, "moved")  # the api app now comes from another repository
    other = url.replace("/apps.git", "/other.git")
    api_source = "\n    revision: main\n    path: apps/api"
    moved = documents.replace(f"repoURL: {url}{api_source}", f"repoURL: {other}{api_source}")
    assert moved != documents
    repo.commit({config: moved}, message="api moves")
    _branch_from(repo, main, "invalid")  # the web Application itself becomes invalid
    invalid = documents.replace("interval: 1h", "interval: soon", 1)
    assert invalid != documents
    repo.commit({config: invalid}, message="an invalid interval")
    _branch_from(repo, main, "redirect")  # the pull request points the cluster at a file of its choice
    chosen = documents.replace(str(kubeconfig), "/etc/chosen-by-the-pull-request.kubeconfig", 1)
    assert chosen != documents
    repo.commit(
        {config: chosen, "apps/web/cfg.yaml": configmap("web-cfg", {"color": "red"})},
        message="another cluster",
    )


def _pull_request_head(repo: WorkRepo, main: str) -> None:
    """A commit on no branch or tag, only under ``refs/pull/2/head`` (as a host keeps the head of a
    pull request from a fork)."""
    from devtools.gitservers import git

    git("checkout", "-q", "--detach", main, cwd=repo.work)
    repo.write({"apps/web/cfg.yaml": configmap("web-cfg", {"color": "purple"})})
    git("commit", "-q", "-am", "from a fork", cwd=repo.work)
    git("push", "-q", "origin", "HEAD:refs/pull/2/head", cwd=repo.work)


def _branch_from(repo: WorkRepo, commit: str, branch: str) -> None:
    from devtools.gitservers import git

    git("checkout", "-q", "-B", branch, commit, cwd=repo.work)
    repo.branch = branch


def _snapshot(kubeconfig: Path, namespaces: list[str], state: Path) -> dict[str, str]:
    """The resourceVersion of every object in the namespaces (and of the namespaces), and a digest
    of each file of the state database."""
    from devtools import toolchain

    kinds = toolchain.kubectl(kubeconfig, "api-resources", "--verbs=list", "--namespaced", "-o", "name")
    kinds = ",".join(k for k in kinds.split() if not k.startswith("events"))
    out: dict[str, str] = {}
    for namespace in namespaces:
        found = json.loads(
            toolchain.kubectl(kubeconfig, "get", kinds, "-n", namespace, "-o", "json", "--ignore-not-found")
            or '{"items": []}'
        )
        for item in found["items"]:
            meta = item["metadata"]
            out[f"{item['kind']}/{namespace}/{meta['name']}"] = meta["resourceVersion"]
        ns = json.loads(
            toolchain.kubectl(kubeconfig, "get", "namespace", namespace, "-o", "json", check=False) or "{}"
        )
        out[f"Namespace/{namespace}"] = (ns.get("metadata") or {}).get("resourceVersion", "absent")
    for file in sorted(state.parent.glob(f"{state.name}*")):
        out[f"state:{file.name}"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {app["name"]: app for app in report["apps"]}


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{e['kind']}/{e['name']}" for e in entries)


def test_a_branch_shows_exactly_its_changes_and_writes_nothing(world: World) -> None:
    before = _snapshot(world.kubeconfig, list(world.namespaces.values()), world.state)
    assert before["ConfigMap/" + world.namespaces["pvweb"] + "/old"]  # deployed by the engine
    report = world.run("feature")
    after = _snapshot(world.kubeconfig, list(world.namespaces.values()), world.state)
    assert after == before

    apps = _by_name(report)
    assert sorted(apps) == ["pvextra", "pvfresh", "pvgone", "pvweb"]
    assert report["unchanged"] == ["pvapi"]

    web = apps["pvweb"]
    assert (web["change"], web["status"], web["prune"]) == ("changed", "ok", "automatic")
    assert _names(web["changed"]) == ["ConfigMap/web-cfg", "Secret/web-secret"]
    assert _names(web["created"]) == []
    assert _names(web["pruned"]) == ["ConfigMap/old"]
    cfg = next(e for e in web["changed"] if e["kind"] == "ConfigMap")
    assert "-  color: blue" in cfg["diff"]
    assert "+  color: green" in cfg["diff"]
    secret = next(e for e in web["changed"] if e["kind"] == "Secret")
    assert "password" in secret["diff"]  # the change shows, its values never do (last test)

    extra = apps["pvextra"]
    assert (extra["change"], extra["status"]) == ("added", "ok")
    assert _names(extra["created"]) == ["ConfigMap/extra-cfg"]
    assert extra["pruned"] == []
    assert extra["changed"] == []

    fresh = apps["pvfresh"]  # never synced: prune is computed against the base's render
    assert fresh["prune"] == "manual"
    assert _names(fresh["created"]) == ["ConfigMap/fresh-a"]
    assert _names(fresh["pruned"]) == ["ConfigMap/fresh-b"]
    assert "base only" in fresh["pruned"][0]["message"]

    gone = apps["pvgone"]  # removed from the config: its deletionPolicy (orphan) releases its objects
    assert gone["change"] == "removed"
    assert [(e["name"], e["action"]) for e in gone["pruned"]] == [("gone-cfg", "release")]
    assert report["summary"] == {
        "apps": 5,
        "touched": 4,
        "unchanged": 1,
        "created": 2,
        "changed": 2,
        "pruned": 2,
        "released": 1,
        "violations": 0,
        "refused": 0,
        "failed": 0,
    }


def test_a_local_config_is_the_same_for_both_revisions(world: World) -> None:
    report = world.run("feature", config=world.local_config)
    assert report["config"] == {"source": "local", "path": str(world.local_config)}
    apps = _by_name(report)
    assert sorted(apps) == ["pvfresh", "pvweb"]  # extra is not in the local config, gone still is
    assert sorted(report["unchanged"]) == ["pvapi", "pvgone"]


def test_policy_violations_are_listed_and_nothing_of_the_app_is_shown_applied(world: World) -> None:
    report = world.run("violating")
    bad = _by_name(report)["pvbad"]
    assert (bad["change"], bad["status"]) == ("added", "refused")
    rules = sorted({v["rule"] for v in bad["violations"]})
    assert rules == ["Destination", "NamespacedResource"]  # its namespace, and the Secret's kind
    assert any(v["object"] == f"Secret/{world.namespaces['pvbad']}/web-secret" for v in bad["violations"])
    assert bad["created"] == []
    assert bad["changed"] == []
    assert report["summary"]["violations"] == len(bad["violations"])


def test_the_command_prints_markdown_and_json_and_exits_by_outcome(world: World) -> None:
    markdown = world.cli("--base", "main", "--head", "feature", "--config", "gitward")
    assert markdown.returncode == 0, markdown.stderr
    text = markdown.stdout
    assert text.startswith("### gitward preview")
    assert "| Application | Cluster | Namespace |" in text
    assert text.count("<details>") == 4
    assert text.count("</details>") == 4
    assert "<summary><b>pvweb</b> (changed): 0 created, 2 changed, 1 pruned</summary>" in text
    assert "Unchanged (1): <code>pvapi</code>" in text
    assert not (world.root / "xdg").exists()  # no state folder, no database

    small = world.cli("--base", "main", "--head", "feature", "--config", "gitward", "--max-chars", "2000")
    assert small.returncode == 0, small.stderr
    assert len(small.stdout) <= 2000
    assert "Left out to stay under 2,000 characters" in small.stdout

    # the apps' repoURL spelled otherwise (a trailing slash): the same repository
    as_json = world.cli(
        "--base", "main", "--head", "feature", "--config", "gitward", "-o", "json", repo=world.url + "/"
    )
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert sorted(app["name"] for app in report["apps"]) == ["pvextra", "pvfresh", "pvgone", "pvweb"]
    assert report["format"] == 1
    assert set(report) == {
        "format",
        "repo",
        "base",
        "head",
        "config",
        "configErrors",
        "configNotes",
        "apps",
        "unchanged",
        "summary",
    }
    assert report["head"]["revision"] == "feature"
    assert len(report["head"]["commit"]) == 40
    for app in report["apps"]:
        for field in ("created", "changed", "pruned"):
            for entry in app[field]:
                assert {"id", "kind", "namespace", "name", "action", "diff", "message"} <= set(entry)

    broken = world.cli("--base", "main", "--head", "broken", "--config", "gitward", "-o", "json")
    assert broken.returncode == 1
    web = _by_name(json.loads(broken.stdout))["pvweb"]
    assert web["status"] == "failed"
    assert web["error"]["step"] == "render"
    assert "could not be previewed" in broken.stderr

    missing = world.cli("--base", "main", "--head", "no-such-branch", "--config", "gitward")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert "no-such-branch" in missing.stderr

    no_config = world.cli("--base", "main", "--head", "feature")
    assert no_config.returncode == 2
    assert "give --config" in no_config.stderr


def test_secret_values_never_appear(world: World) -> None:
    report = world.run("feature")
    markdown = world.cli("--base", "main", "--head", "feature", "--config", "gitward").stdout
    dumped = json.dumps(report)
    import base64

    for value in (BASE_SECRET, HEAD_SECRET):
        encoded = base64.b64encode(value.encode()).decode()
        for text in (dumped, markdown):
            assert value not in text
            assert encoded not in text


def test_an_app_the_heads_config_refuses_is_not_shown_as_removed(world: World) -> None:
    report = world.run("invalid")
    apps = _by_name(report)
    invalid = [name for name, app in apps.items() if app["status"] == "failed"]
    assert len(invalid) == 1
    app = apps[invalid[0]]
    assert app["change"] == "changed"
    assert app["pruned"] == []
    assert "the head's config refuses it" in app["error"]["message"]
    assert [e["name"] for e in report["configErrors"]] == invalid
    assert not [a for a in apps.values() if a["change"] == "removed"]


def test_a_private_repository_is_fetched_with_the_credentials_given(
    world: World, tmp_path: Path, kube_cluster: Any
) -> None:
    namespace = f"pv-{uuid.uuid4().hex[:6]}-private"
    with HttpGitServer(tmp_path / "git", username="reader", password="git-pass-4417") as git:
        url = git.url("private")
        app = application("private", repo=url, path="app", namespace=namespace)
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        repo = git.create_repo(
            "private",
            {
                "app/cfg.yaml": configmap("private-cfg", {"v": "1"}),
                "gitward/c.yaml": yaml.safe_dump_all([cluster, app]),
            },
        )
        repo.commit({"app/cfg.yaml": configmap("private-cfg", {"v": "2"})}, branch="change")
        (tmp_path / "password").write_text("git-pass-4417\n")
        credentials = tmp_path / "repos.yaml"
        repository = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "private"},
            "spec": {"url": url, "username": "reader", "passwordFile": str(tmp_path / "password")},
        }
        credentials.write_text(yaml.safe_dump(repository))
        args = ("--base", "main", "--head", "change", "--config", "gitward", "-o", "json")

        refused = world.cli(*args, repo=url)
        assert refused.returncode == 2
        assert "git-pass-4417" not in refused.stderr

        fetched = world.cli(*args, "--credentials", str(credentials), repo=url)
        assert fetched.returncode == 0, fetched.stderr
        created = _by_name(json.loads(fetched.stdout))["private"]["created"]
        assert _names(created) == ["ConfigMap/private-cfg"]

        credentials.write_text(yaml.safe_dump_all([repository, cluster]))
        wrong = world.cli(*args, "--credentials", str(credentials), repo=url)
        assert wrong.returncode == 2
        assert "Repository objects only, not Cluster 'local'" in wrong.stderr


def test_an_unreachable_cluster_fails_its_apps_with_a_clear_message(world: World, tmp_path: Path) -> None:
    from devtools.gitservers import free_port

    kubeconfig = yaml.safe_load(world.kubeconfig.read_text())
    for cluster in kubeconfig["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    (tmp_path / "dead.kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    dead = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "local"},
        "spec": {"kubeconfig": str(tmp_path / "dead.kubeconfig")},
    }
    web = application("pvweb", repo=world.url, path="apps/web", namespace=world.namespaces["pvweb"])
    config = tmp_path / "config"
    config.mkdir()
    (config / "gitward.yaml").write_text(yaml.safe_dump_all([dead, web]))

    result = world.cli("--base", "main", "--head", "feature", "--config", str(config), "-o", "json")
    assert result.returncode == 1
    failed = _by_name(json.loads(result.stdout))["pvweb"]
    assert failed["status"] == "failed"
    assert failed["error"]["reason"] == "ClusterUnavailable"
    assert "127.0.0.1" in failed["error"]["message"]
    assert "1 app(s) could not be previewed" in result.stderr


def test_a_pull_request_head_on_no_branch_is_fetched_by_its_ref_or_its_commit(world: World) -> None:
    from devtools.gitservers import git

    commit = git("rev-parse", "refs/pull/2/head", cwd=world.repo.bare)
    for head in ("refs/pull/2/head", commit):
        report = world.run(head)
        assert report["head"]["commit"] == commit
        web = _by_name(report)["pvweb"]
        assert _names(web["changed"]) == ["ConfigMap/web-cfg"]
        assert "+  color: purple" in web["changed"][0]["diff"]

    refspec = world.cli("--base", "main", "--head", "refs/pull/2/head:refs/heads/main", "--config", "gitward")
    assert refspec.returncode == 2
    assert "not a full ref or commit to fetch" in refspec.stderr


def test_an_app_moved_to_another_repository_is_not_shown_as_removed(world: World) -> None:
    report = world.run("moved")
    api = _by_name(report)["pvapi"]
    assert api["change"] == "changed"
    assert api["pruned"] == []
    assert "/other.git: not previewed" in api["notes"][0]


def test_the_heads_clusters_and_repositories_are_not_used(world: World) -> None:
    report = world.run("redirect")
    web = _by_name(report)["pvweb"]
    assert web["status"] != "failed", web.get("error")  # previewed on the base's cluster
    assert _names(web["changed"]) == ["ConfigMap/web-cfg"]
    (note,) = report["configNotes"]
    assert note.startswith("Cluster local changed by the head: previewed with the base's")
    assert "chosen-by-the-pull-request" not in json.dumps(report)
