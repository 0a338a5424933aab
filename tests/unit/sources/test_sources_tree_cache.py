"""A folder of many apps is parsed once, not at every path lookup below it (docs/benchmarks.md, B7)."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitward.sources.gitcache import GitCache
from gitward.sources.gitread import path_hash

LIBGIT2_DEFAULT_TREE_LIMIT = 4096


def _fleet_commit(root: Path, apps: int) -> tuple[pygit2.Repository, str, int]:
    """A bare repository whose commit holds ``apps/app-NNNN/objects.yaml``; with the size of the
    ``apps`` tree object (far over libgit2's default limit for cached trees)."""
    repo = pygit2.init_repository(str(root), bare=True)
    apps_tree = repo.TreeBuilder()
    for index in range(apps):
        app = repo.TreeBuilder()
        blob = repo.create_blob(f"kind: ConfigMap\nmetadata: {{name: app-{index}}}\n".encode())
        app.insert("objects.yaml", blob, pygit2.enums.FileMode.BLOB)
        apps_tree.insert(f"app-{index:04d}", app.write(), pygit2.enums.FileMode.TREE)
    apps_id = apps_tree.write()
    top = repo.TreeBuilder()
    top.insert("apps", apps_id, pygit2.enums.FileMode.TREE)
    signature = pygit2.Signature("t", "t@example.invalid")
    commit = repo.create_commit(None, signature, signature, "fleet", top.write(), [])
    size = len(repo[apps_id].read_raw())
    return pygit2.Repository(str(root)), str(commit), size  # a new handle: nothing cached yet


@pytest.fixture
def default_tree_limit() -> None:
    """Start from libgit2's own limit, whatever an earlier test set (the setting is process-wide)."""
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, LIBGIT2_DEFAULT_TREE_LIMIT)


def test_a_git_cache_keeps_a_large_folder_parsed_between_path_lookups(
    tmp_path: Path, default_tree_limit: None
) -> None:
    GitCache(tmp_path / "cache")
    repo, commit, folder_size = _fleet_commit(tmp_path / "fleet.git", 2000)
    assert folder_size > LIBGIT2_DEFAULT_TREE_LIMIT
    before = pygit2.settings.cached_memory[0]
    first = path_hash(repo, commit, "apps/app-0001", url="fleet")
    held = pygit2.settings.cached_memory[0] - before
    assert held >= folder_size  # the apps folder stays in the repository's object cache
    assert path_hash(repo, commit, "apps/app-1999", url="fleet") != first
    assert path_hash(repo, commit, "apps/app-2000", url="fleet") == ""


def test_without_it_libgit2_drops_the_folder_after_each_lookup(
    tmp_path: Path, default_tree_limit: None
) -> None:
    """The behaviour the setting exists for: the same lookups with libgit2's default limit hold none
    of the folder (so the test above fails if ``GitCache`` stops raising it)."""
    repo, commit, folder_size = _fleet_commit(tmp_path / "fleet.git", 2000)
    before = pygit2.settings.cached_memory[0]
    path_hash(repo, commit, "apps/app-0001", url="fleet")
    assert pygit2.settings.cached_memory[0] - before < folder_size
