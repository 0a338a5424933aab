"""One-folder checkouts: a push exports only the folders of the apps it changed, and an app whose
render reads anything outside its folder still renders from the whole commit (docs/architecture.md,
"Costs that grow with the fleet"). Real git, real kustomize, the real render pipeline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from devtools.toolchain import tool_path

from gitward.core.errors import RenderError
from gitward.core.steps import Step
from gitward.model import Application, load_objects
from gitward.reconcile.desired import SourceFetcher
from gitward.render import RenderSettings, RenderTools
from gitward.sources.gitcache import FOLDERS_BEFORE_WHOLE, GitCache

pytestmark = pytest.mark.integration


def _configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{value: {value}}}\n"


FILES = {
    "README.md": "fleet\n",
    "apps/plain/cm.yaml": _configmap("plain", "one"),
    "apps/overlay/kustomization.yaml": "resources: [../../base]\nnamePrefix: overlay-\n",
    "base/kustomization.yaml": "resources: [cm.yaml]\n",
    "base/cm.yaml": _configmap("base", "from-base"),
    "shared/cm.yaml": _configmap("shared", "from-shared"),
    "apps/broken/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
}


def _app(name: str, url: str, path: str) -> Application:
    doc: dict[str, Any] = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": url, "path": path, "revision": "main"},
            "destination": {"cluster": "c1", "namespace": name},
        },
    }
    config = load_objects([doc])
    assert not config.errors, config.errors
    return config.applications[0]


def _fetcher(tmp_path: Path) -> SourceFetcher:
    tools = RenderTools(kustomize=tool_path("kustomize"), helm=tool_path("helm"), timeout=60)
    return SourceFetcher(
        cache_dir=tmp_path / "cache",
        tools=tools,
        render_settings=RenderSettings(),
        render_cache_entries=64,
        fetch_freshness=0.0,
        fetch_min_interval=0.0,
    )


async def _render(fetcher: SourceFetcher, app: Application) -> list[dict[str, Any]]:
    desired = await fetcher.desired(app, "main", fetch=True, kube_version="v1.36.3", api_versions=[])
    return [dict(o) for o in desired.objects]


def _exports(cache: GitCache) -> set[str]:
    return {p.name for p in (cache.root / "checkouts").iterdir() if not p.name.startswith(".")}


async def test_a_plain_app_renders_from_its_folder_alone_commit_after_commit(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    repo = file_server.create_repo("fleet", FILES)
    url = file_server.url("fleet")
    fetcher = _fetcher(tmp_path)
    app = _app("plain", url, "apps/plain")

    objects = await _render(fetcher, app)
    assert [o["data"] for o in objects] == [{"value": "one"}]
    first = repo.head()
    assert _exports(fetcher.git) == {fetcher.git.checkout_path(first, "apps/plain").name}
    folder = fetcher.git.checkout_path(first, "apps/plain")
    assert sorted(os.listdir(folder)) == ["apps"]
    assert os.listdir(folder / "apps") == ["plain"]

    second = repo.commit({"apps/plain/cm.yaml": _configmap("plain", "two")})
    objects = await _render(fetcher, app)
    assert [o["data"] for o in objects] == [{"value": "two"}]
    assert not fetcher.git.checkout_path(second).exists()  # the whole commit was never exported
    assert fetcher.git.checkout_path(second, "apps/plain").is_dir()


async def test_an_overlay_of_a_base_outside_its_folder_renders_from_the_whole_commit(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    repo = file_server.create_repo("fleet", FILES)
    fetcher = _fetcher(tmp_path)
    app = _app("overlay", file_server.url("fleet"), "apps/overlay")

    objects = await _render(fetcher, app)
    assert [(o["metadata"]["name"], o["data"]) for o in objects] == [("overlay-base", {"value": "from-base"})]
    assert fetcher.git.checkout_path(repo.head()).is_dir()

    repo.commit({"base/cm.yaml": _configmap("base", "changed")})
    objects = await _render(fetcher, app)
    assert [o["data"] for o in objects] == [{"value": "changed"}]


async def test_a_link_to_a_file_outside_the_folder_renders_from_the_whole_commit(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    """The look ahead does not follow links; the render from the folder alone fails on the dangling
    link, and the whole commit, where the link resolves inside the repository, decides."""
    repo = file_server.create_repo("fleet", FILES)
    repo.symlink("apps/linked/cm.yaml", "../../shared/cm.yaml")
    commit = repo.commit(message="a linked app")
    fetcher = _fetcher(tmp_path)
    app = _app("linked", file_server.url("fleet"), "apps/linked")

    objects = await _render(fetcher, app)
    assert [o["data"] for o in objects] == [{"value": "from-shared"}]
    assert fetcher.git.checkout_path(commit).is_dir()


async def test_a_folder_that_does_not_render_reports_the_error_of_the_whole_commit(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    repo = file_server.create_repo("fleet", FILES)
    fetcher = _fetcher(tmp_path)
    app = _app("broken", file_server.url("fleet"), "apps/broken")

    with pytest.raises(RenderError, match=r"cm\.yaml") as caught:
        await _render(fetcher, app)
    assert caught.value.step is not None
    assert caught.value.step == Step.RENDER
    assert fetcher.git.checkout_path(repo.head()).is_dir()


async def test_one_path_checkouts_hold_only_that_path_until_the_whole_commit_is_exported(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    repo = file_server.create_repo("fleet", FILES)
    url = file_server.url("fleet")
    cache = GitCache(tmp_path / "cache")
    await cache.fetch(url)
    commit = repo.head()

    folder = await cache.artifact(url, "main", "./apps/plain/", fetch=False, folder_only=True)
    assert folder.partial
    assert folder.path == "apps/plain"
    assert sorted(p.relative_to(folder.root).as_posix() for p in folder.root.rglob("*")) == [
        "apps", "apps/plain", "apps/plain/cm.yaml",
    ]  # fmt: skip
    assert (folder.root / "apps").stat().st_mode & 0o777 == 0o555
    assert (folder.directory / "cm.yaml").stat().st_mode & 0o777 == 0o444
    one_file = await cache.checkout(url, commit, "shared/cm.yaml")
    assert [p.name for p in one_file.rglob("*")] == ["shared", "cm.yaml"]
    absent = await cache.checkout(url, commit, "apps/missing")
    assert [p.name for p in absent.rglob("*")] == ["apps"]
    under_a_file = await cache.checkout(url, commit, "README.md/x")
    assert list(under_a_file.iterdir()) == []

    whole = await cache.whole(url, folder)
    assert not whole.partial
    assert whole.root == cache.checkout_path(commit)
    assert (whole.root / "base/cm.yaml").is_file()
    again = await cache.artifact(url, "main", "apps/plain", fetch=False, folder_only=True)
    assert not again.partial
    assert again.root == whole.root

    cache.discard_checkout(commit)
    assert not (cache.root / "checkouts").exists() or not _exports(cache)


async def test_a_commit_whose_folders_many_apps_ask_for_is_exported_whole_once(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    """A first sync of many apps exports the commit once, not once per app."""
    count = FOLDERS_BEFORE_WHOLE + 2
    repo = file_server.create_repo(
        "fleet", {f"apps/a{i}/cm.yaml": _configmap(f"a{i}", "v") for i in range(count)}
    )
    url = file_server.url("fleet")
    cache = GitCache(tmp_path / "cache")
    await cache.fetch(url)
    commit = repo.head()

    for _ in range(FOLDERS_BEFORE_WHOLE + 1):  # one app's passes at one commit count once
        assert await cache.checkout(url, commit, "apps/a0") == cache.checkout_path(commit, "apps/a0")
    assert not cache.checkout_path(commit).exists()
    roots = [await cache.checkout(url, commit, f"apps/a{i}") for i in range(count)]
    assert roots[:FOLDERS_BEFORE_WHOLE] == [
        cache.checkout_path(commit, f"apps/a{i}") for i in range(FOLDERS_BEFORE_WHOLE)
    ]
    assert roots[FOLDERS_BEFORE_WHOLE:] == [cache.checkout_path(commit)] * 2
    assert (cache.checkout_path(commit) / "apps/a0/cm.yaml").is_file()
    assert await cache.checkout(url, commit, "apps/a1") == cache.checkout_path(commit)
