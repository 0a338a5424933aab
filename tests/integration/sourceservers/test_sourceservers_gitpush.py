"""``sources/gitpush.py`` against real repositories: a new branch of an empty repository is started,
an unchanged write commits nothing, and a symlinked folder is never written through."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from devtools.gitservers import FileGitServer, git

from gitward.core.errors import FetchError
from gitward.sources.gitpush import BranchCheckout

pytestmark = pytest.mark.integration


def _empty_bare(server: FileGitServer, name: str) -> Path:
    bare = server.repos_dir / f"{name}.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    return bare


async def test_an_empty_repository_gets_the_branch_and_a_second_write_commits_nothing(
    file_server: FileGitServer,
) -> None:
    bare = _empty_bare(file_server, "empty")
    url = file_server.url("empty")
    checkout = await BranchCheckout.open(url, "fleet", None)
    try:
        assert not checkout.existed
        assert checkout.files_under("clusters/a") == {}
        checkout.write({"clusters/a/gitward/x.yaml": "a: 1\n"})
        first = await checkout.commit_and_push("first", paths=["clusters/a/gitward"])
    finally:
        checkout.close()
    assert first.changed
    assert git("--git-dir", str(bare), "rev-parse", "refs/heads/fleet") == first.commit

    again = await BranchCheckout.open(url, "fleet", None)
    try:
        assert again.existed
        assert again.files_under("clusters/a") == {"gitward/x.yaml": b"a: 1\n"}
        again.write({"clusters/a/gitward/x.yaml": "a: 1\n"})
        second = await again.commit_and_push("second", paths=["clusters/a/gitward"])
    finally:
        again.close()
    assert not second.changed
    assert second.commit == first.commit
    assert git("--git-dir", str(bare), "rev-list", "--count", "refs/heads/fleet") == "1"


async def test_a_symlinked_folder_is_never_written_through(
    file_server: FileGitServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = file_server.create_repo("linked", {"README.md": "x\n"})
    repo.symlink("clusters", str(outside))
    repo.commit(message="a link")
    checkout = await BranchCheckout.open(file_server.url("linked"), "main", None)
    try:
        with pytest.raises(FetchError, match="clusters is a symbolic link"):
            checkout.write({"clusters/a/gitward/x.yaml": "a: 1\n"})
        with pytest.raises(FetchError, match="symbolic link"):
            checkout.files_under("clusters/a")
    finally:
        checkout.close()
    assert list(outside.iterdir()) == []
