"""Write files into one branch of a Git repository: clone, change one folder, commit, push.

``gitward bootstrap`` is the one writer: gitward otherwise only reads Git. ``BranchCheckout`` is a
throw-away shallow checkout of one branch in a temporary folder (an empty repository or a missing
branch starts one with no parent). ``files_under`` reads what a path holds, ``write`` replaces files,
``commit_and_push`` commits when something changed and pushes without force: a branch that moved
meanwhile is refused by the server, and the caller says to run again. A run that changes nothing
commits and pushes nothing.

Every git command runs with the environment of ``credentials.git_environment`` (no user or system
config, no credential helper, strict SSH host keys, secrets through askpass or headers, never in
argv), bounded in time, with its errors scrubbed of secrets.

Deliberately not here: what to write (``install/bootstrap.py``), fetching for reconciles (``gitcache``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitward.core.errors import FetchError
from gitward.sources.credentials import GitCredentials, display_url, git_environment
from gitward.sources.gitcli import check_url, run_git

TIMEOUT = 120.0
MAX_FILE_BYTES = 4 << 20  # files read below the path: only to tell whose they are
AUTHOR = ("gitward bootstrap", "bootstrap@gitward.dev")


@dataclass(frozen=True)
class Pushed:
    commit: str  # the branch's head after the run
    changed: bool  # a commit was made and pushed


class BranchCheckout:
    """One branch of ``url`` checked out in a private temporary folder; ``close`` removes it."""

    def __init__(self, url: str, branch: str, credentials: GitCredentials | None, root: Path) -> None:
        self.url = url
        self.branch = branch
        self.credentials = credentials
        self.root = root
        self.work = root / "work"
        self.existed = False  # the branch was there before this run
        self._env = git_environment(credentials, helper_dir=root / "helpers")
        self._env.update(
            GIT_AUTHOR_NAME=AUTHOR[0],
            GIT_AUTHOR_EMAIL=AUTHOR[1],
            GIT_COMMITTER_NAME=AUTHOR[0],
            GIT_COMMITTER_EMAIL=AUTHOR[1],
        )

    @classmethod
    async def open(cls, url: str, branch: str, credentials: GitCredentials | None) -> BranchCheckout:
        check_url(url)
        if not branch or branch.startswith("-") or any(c in branch for c in " \t\n~^:?*[\\"):
            raise FetchError(f"invalid branch name {branch!r}", reason="InvalidRevision")
        root = Path(tempfile.mkdtemp(prefix="gitward-bootstrap-"))
        os.chmod(root, 0o700)
        checkout = cls(url, branch, credentials, root)
        try:
            await checkout._clone()
        except BaseException:
            checkout.close()
            raise
        return checkout

    async def _git(self, *args: str) -> str:
        return await run_git(
            list(args),
            env=self._env,
            cwd=self.work,
            timeout=TIMEOUT,
            url=self.url,
            credentials=self.credentials,
        )

    async def _clone(self) -> None:
        self.work.mkdir()
        await self._git("init", "--quiet", f"--initial-branch={self.branch}")
        ref = f"refs/heads/{self.branch}"
        heads = await self._git("ls-remote", "--heads", "--", self.url, ref)
        self.existed = any(line.split("\t")[-1] == ref for line in heads.splitlines())
        if self.existed:
            await self._git("fetch", "--quiet", "--depth=1", "--no-tags", "--", self.url, ref)
            await self._git("checkout", "--quiet", "-B", self.branch, "FETCH_HEAD")

    def _inside(self, path: str) -> Path:
        """``path`` under the checkout, refusing ``..``, absolute paths and symlinked folders."""
        parts = Path(path).parts
        if not parts or Path(path).is_absolute() or ".." in parts or parts[0] == ".git":
            raise FetchError(f"path {path!r} is not a folder inside the repository", reason="InvalidPath")
        current = self.work
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise FetchError(
                    f"{'/'.join(current.relative_to(self.work).parts)} is a symbolic link in the "
                    "repository; refusing to write through it",
                    reason="InvalidPath",
                )
        return current

    def files_under(self, path: str) -> dict[str, bytes]:
        """Every file below ``path`` (relative to it) with its content; a symlink's content is its
        target. Raises when ``path`` is a file."""
        top = self._inside(path)
        if top.exists() and not top.is_dir():
            raise FetchError(f"{path} is a file in the repository, not a folder", reason="InvalidPath")
        found: dict[str, bytes] = {}
        for folder, dirs, names in os.walk(top):  # symlinked folders are listed, never entered
            for name in [*names, *(d for d in dirs if Path(folder, d).is_symlink())]:
                full = Path(folder, name)
                rel = full.relative_to(top).as_posix()
                if full.is_symlink():
                    found[rel] = os.readlink(full).encode()
                else:
                    with full.open("rb") as handle:
                        found[rel] = handle.read(MAX_FILE_BYTES)
        return found

    def write(self, files: Mapping[str, str]) -> None:
        """Write each file (path relative to the repository root), creating folders."""
        for rel, text in files.items():
            target = self._inside(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._inside(rel)  # the folders just made are real ones
            target.write_text(text)

    async def commit_and_push(self, message: str, *, paths: list[str]) -> Pushed:
        """Commit ``paths`` when they changed and push the branch; nothing otherwise."""
        await self._git("add", "--all", "--", *paths)
        if not (await self._git("status", "--porcelain", "--", *paths)).strip():
            head = (await self._git("rev-parse", "HEAD")).strip() if self.existed else ""
            return Pushed(commit=head, changed=False)
        await self._git("commit", "--quiet", "--no-verify", "-m", message)
        commit = (await self._git("rev-parse", "HEAD")).strip()
        try:
            await self._git("push", "--quiet", "--", self.url, f"HEAD:refs/heads/{self.branch}")
        except FetchError as error:
            raise FetchError(
                f"{error.message} (nothing was pushed: if {self.branch} of {display_url(self.url)} "
                "moved meanwhile, run bootstrap again)",
                reason="PushFailed",
            ) from None
        return Pushed(commit=commit, changed=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
