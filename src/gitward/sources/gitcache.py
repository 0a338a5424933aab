"""A local cache of Git repositories: one bare mirror per URL, one read-only checkout per commit.

Why: docs/architecture.md, one reconcile asks for one fetch per repository per trigger whatever the number of
apps, and for re-rendering only apps whose input (path tree hash, and any base outside it) changed. So every
app using a URL shares one mirror; reads (``resolve``, ``tree_hash``) are in-process pygit2 calls on the
mirror; ``checkout`` exports a commit once and reuses it, read-only, for every app and render.

Fetches of one mirror are coalesced whatever the number of callers (docs/reliability.md, F8): at
most one runs and at most one waits behind it; every caller that arrives while one waits joins it.
The waiting one starts after the running one ends and no sooner than ``min_interval`` after it
started, so a flood of triggers costs about one fetch per ``min_interval``, and a caller is always
answered by a fetch that started after it arrived (a push it was told about is never hidden).
``holds`` lets a caller that knows what was pushed skip the fetch when the last one brought it.
``fetch_count`` counts real fetches and ``on_fetch`` reports each one (for metrics).

What is fetched: every branch and tag (what an app can name), and the remote's HEAD when it names a
commit. HEAD goes through a glob refspec, which matches nothing instead of failing when the remote's
HEAD is dangling (it points at a branch that does not exist): such a remote breaks only the apps
that ask for ``HEAD``, never those that name a branch, a tag or a commit (``gitread``).

Layout under ``root``: ``mirrors/<sha256(url)[:32]>.git`` (bare), ``checkouts/<commit>/`` (export),
``checkouts/<commit>.<sha256(path)[:24]>/`` (export of one folder of the commit, for an app that reads
nothing else: ``checkout``), ``helpers/askpass.sh``. Mirrors hold only branches, tags and the
remote's HEAD (not pull-request refs), plus the refs a caller fetches one by one (``fetch_ref``:
``gitward preview``'s pull-request heads).

Deliberately not here: verifying commit signatures (``signatures``), garbage collection of old
checkouts beyond ``discard_checkout``, and sharing one cache between processes (git's own locks keep
that safe but coalescing works within one process only).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pygit2

from gitward.core.errors import FetchError
from gitward.sources.artifact import Artifact
from gitward.sources.credentials import GitCredentials, display_url, git_environment
from gitward.sources.gitcli import check_url, run_git
from gitward.sources.gitread import (
    REMOTE_HEAD,
    cache_large_trees,
    export_tree,
    make_writable,
    normalize_path,
    path_hash,
    resolve_revision,
)
from gitward.sources.signatures import revision_tag, tag_object

_FetchKey = tuple[str, GitCredentials | None]
_T = TypeVar("_T")
# A commit whose folders this many apps asked for is exported whole for the next ones: a push that
# changes a few apps exports their folders (fast, whatever the repository's size), a first sync of
# thousands exports the commit once instead of once per app (a folder's export costs more than its
# share of the whole: a directory, a rename and a worker thread each).
FOLDERS_BEFORE_WHOLE = 32
_MEMO_LIMIT = 65_536  # remembered path hashes (about 10 MB at most)
# ``HEAD*`` rather than ``HEAD``: a glob that matches nothing is not an error, so a dangling remote HEAD
# leaves the fetch of every branch and tag working (and ``--prune`` drops a HEAD that stopped existing).
_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", f"+HEAD*:{REMOTE_HEAD}*"]
_MIRRORED = ("refs/heads/", "refs/tags/")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_EXTRA_REF = re.compile(r"^refs/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+$")  # no ':', '*', '^', '~' or space
_ZERO_ID = frozenset("0")
FetchObserver = Callable[[bool, float], None]  # (succeeded, seconds) of one real fetch


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did: ``changed`` is True when any branch, tag or HEAD moved (or on first fetch)."""

    url: str
    changed: bool
    refs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def head(self) -> str:
        return self.refs.get(REMOTE_HEAD, "")


def _refs(mirror: Path) -> dict[str, str]:
    repo = pygit2.Repository(str(mirror))
    out: dict[str, str] = {}
    for name in repo.references:
        ref = repo.references.get(name)
        if ref is not None and ref.type == pygit2.enums.ReferenceType.DIRECT:
            out[name] = str(ref.target)
    return out


def _make_private(root: Path) -> None:
    """Mirrors and checkouts hold plaintext manifests (Secrets in Git too): the cache root is 0700,
    whoever starts the cache, so no other local user can read them (docs/reliability.md)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if root.stat().st_mode & 0o077:
        root.chmod(0o700)


class GitCache:
    """Mirrors and checkouts under ``root``; safe for many concurrent tasks on one event loop."""

    def __init__(
        self,
        root: Path,
        *,
        timeout: float = 120.0,
        connect_timeout: int = 30,
        min_interval: float = 0.0,
    ) -> None:
        self.root = root
        _make_private(root)
        cache_large_trees()  # path lookups in big folders would re-parse them each time
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.min_interval = min_interval  # seconds between the starts of two fetches of one mirror
        self.fetch_count = 0  # real git fetches run (coalesced calls do not count)
        self.on_fetch: FetchObserver | None = None
        # The fetch waiting to start per mirror and credentials, with what each of its callers was
        # told was pushed ({}: nothing known).
        self._pending: dict[_FetchKey, tuple[asyncio.Future[FetchResult], list[Mapping[str, str]]]] = {}
        self._mirror_locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}
        self._known_refs: dict[str, dict[str, str]] = {}  # per mirror: the refs its last fetch left
        self._checkouts: dict[str, asyncio.Future[Path]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        # Reads on the event loop reuse one open repository per mirror and remember answers: a
        # revision's commit until the next fetch of its mirror, a path's hash at a commit for good.
        self._open: dict[str, pygit2.Repository] = {}
        # Exports run in worker threads; each thread keeps its own handle per mirror (opening one reads
        # the mirror's refs and pack indexes: milliseconds, more than exporting one app's folder),
        # reopened once a fetch of that mirror bumped its generation.
        self._thread_repos = threading.local()
        # Exports known to exist, and commits whose whole export was looked for and absent (until
        # this process exports it: another process's export of it is simply not used).
        self._exports: set[Path] = set()
        self._not_whole: set[str] = set()
        self._folders_asked: dict[str, int] = {}  # per commit: folders asked for and not yet exported
        self._generations: dict[str, int] = {}
        self._resolved: dict[tuple[str, str], str] = {}
        self._hashes: dict[tuple[str, str, str], str] = {}

    # -- layout -----------------------------------------------------------------------------------

    @staticmethod
    def _key(url: str) -> str:
        return hashlib.sha256(url.strip().rstrip("/").encode()).hexdigest()[:32]

    def mirror_path(self, url: str) -> Path:
        return self.root / "mirrors" / f"{self._key(url)}.git"

    def checkout_path(self, commit: str, path: str = "") -> Path:
        """Where ``commit`` is exported: whole, or with ``path`` only (``checkout``)."""
        if not path:
            return self.root / "checkouts" / commit
        digest = hashlib.sha256(path.encode()).hexdigest()[:24]
        return self.root / "checkouts" / f"{commit}.{digest}"

    def _repo(self, url: str) -> pygit2.Repository:
        """A new handle on the mirror (for a worker thread: handles are not shared across threads)."""
        mirror = self.mirror_path(url)
        if not (mirror / "HEAD").exists():
            raise FetchError(f"{display_url(url)} has not been fetched yet", reason="NotFetched")
        return pygit2.Repository(str(mirror))

    def _loop_repo(self, url: str) -> pygit2.Repository:
        """The event loop's handle on the mirror, opened once and dropped when the mirror is fetched."""
        key = self._key(url)
        found = self._open.get(key)
        if found is None:
            found = self._open[key] = self._repo(url)
        return found

    def _worker_repo(self, url: str) -> pygit2.Repository:
        """This worker thread's handle on the mirror, opened once per fetch of it."""
        key = self._key(url)
        handles: dict[str, tuple[int, pygit2.Repository]] | None = getattr(
            self._thread_repos, "handles", None
        )
        if handles is None:
            handles = self._thread_repos.handles = {}
        generation = self._generations.get(key, 0)
        found = handles.get(key)
        if found is None or found[0] != generation:
            found = handles[key] = (generation, self._repo(url))
        return found[1]

    def _fetched(self, url: str) -> None:
        """Forget what the last fetch of ``url``'s mirror may have changed."""
        key = self._key(url)
        self._open.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1
        for entry in [e for e in self._resolved if self._key(e[0]) == key]:
            del self._resolved[entry]

    # -- network ----------------------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        credentials: GitCredentials | None = None,
        unless_held: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """Bring the mirror of ``url`` up to date, sharing work with concurrent callers.

        Callers join the fetch that waits to start, if there is one; once git is running, a new
        caller gets the next fetch (waiting behind it), never the running one: that one may have
        started before the push the caller was told about, and must not hide it. ``unless_held``
        is what a push notification said it moved: when every caller of a waiting fetch gave such
        refs and the fetch before it left the mirror holding them all (``holds``), git is not run.
        """
        check_url(url)
        key = (url.strip(), credentials)
        entry = self._pending.get(key)
        if entry is None:
            wants: list[Mapping[str, str]] = []
            task = self._track(asyncio.ensure_future(self._fetch_locked(url, credentials, key, wants)))
            entry = self._pending[key] = (task, wants)
            task.add_done_callback(lambda done: self._forget(key, done))
        pending, wants = entry
        wants.append(unless_held or {})
        # shield: one caller being cancelled must not cancel the fetch the others are waiting for
        return await asyncio.shield(pending)

    def _track(self, task: asyncio.Future[_T]) -> asyncio.Future[_T]:
        """Shared fetches and checkouts belong to no caller, so the cache owns them until they end."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Cancel the fetches and checkouts still running and wait for them (their git is killed)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, key: _FetchKey, done: asyncio.Future[FetchResult]) -> None:
        entry = self._pending.get(key)
        if entry is not None and entry[0] is done:
            del self._pending[key]

    async def _fetch_locked(
        self, url: str, credentials: GitCredentials | None, key: _FetchKey, wants: list[Mapping[str, str]]
    ) -> FetchResult:
        mirror_key = self._key(url)
        # Wait, still joinable, until ``min_interval`` after the last start (then for the running
        # fetch to end): callers arriving meanwhile share this fetch instead of queueing more.
        last = self._last_start.get(mirror_key)
        if last is not None and (delay := last + self.min_interval - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        lock = self._mirror_locks.setdefault(mirror_key, asyncio.Lock())
        async with lock:
            # From here on this fetch is under way: later callers must queue a new one.
            self._forget(key, asyncio.current_task())  # type: ignore[arg-type]
            if wants and all(self.holds(url, refs) for refs in wants):
                # every caller was told of a push the fetch before this one brought: nothing to learn
                known = self._known_refs.get(self._key(url), {})
                return FetchResult(url=url, changed=False, refs=dict(known))
            self._last_start[mirror_key] = started = time.monotonic()
            self.fetch_count += 1
            try:
                result = await self._run_fetch(url, credentials)
            except Exception:
                self._observe(ok=False, started=started)
                raise
            self._observe(ok=True, started=started)
            return result

    def _observe(self, *, ok: bool, started: float) -> None:
        if self.on_fetch is not None:
            self.on_fetch(ok, time.monotonic() - started)

    async def _run_fetch(self, url: str, credentials: GitCredentials | None) -> FetchResult:
        """One ``git fetch`` into the mirror (created first if needed); call with the mirror locked."""
        mirror = self.mirror_path(url)
        first = not (mirror / "HEAD").exists()
        if first:
            await self._init_mirror(mirror, url)
        before = {} if first else await asyncio.to_thread(_refs, mirror)
        env = git_environment(
            credentials, helper_dir=self.root / "helpers", connect_timeout=self.connect_timeout
        )
        args = ["fetch", "--prune", "--force", "--no-tags", "--no-write-fetch-head", "--quiet"]
        try:
            await run_git(
                [*args, "--", url, *_REFSPECS],
                env=env,
                cwd=mirror,
                timeout=self.timeout,
                url=url,
                credentials=credentials,
            )
        except BaseException:
            self._known_refs.pop(self._key(url), None)  # even a failed fetch may have moved some refs
            raise
        finally:
            self._fetched(url)
        after = await asyncio.to_thread(_refs, mirror)
        self._known_refs[self._key(url)] = after
        return FetchResult(url=url, changed=first or before != after, refs=after)

    async def fetch_ref(self, url: str, ref: str, *, credentials: GitCredentials | None = None) -> None:
        """Fetch one ref the mirror's refspecs leave out (``refs/pull/7/head``: a pull request's head,
        which may live in a fork), or one commit by full SHA when the server allows it, into the
        mirror under the same name (a SHA under ``refs/gitward/fetched/``), so ``resolve`` finds it.

        Only what the name says is fetched: a name that is not a full ref or a full SHA, or that git
        would read as an option or a refspec, is refused before git runs."""
        check_url(url)
        if _FULL_SHA.match(ref):
            target = f"refs/gitward/fetched/{ref}"
        elif _EXTRA_REF.match(ref) and ".." not in ref and not ref.startswith((*_MIRRORED, "refs/gitward/")):
            target = ref
        else:
            raise FetchError(f"not a full ref or commit to fetch: {ref!r}", reason="InvalidRevision")
        mirror = self.mirror_path(url)
        lock = self._mirror_locks.setdefault(self._key(url), asyncio.Lock())
        async with lock:
            if not (mirror / "HEAD").exists():
                await self._init_mirror(mirror, url)
            env = git_environment(
                credentials, helper_dir=self.root / "helpers", connect_timeout=self.connect_timeout
            )
            args = ["fetch", "--force", "--no-tags", "--no-write-fetch-head", "--quiet"]
            try:
                await run_git(
                    [*args, "--", url, f"+{ref}:{target}"],
                    env=env,
                    cwd=mirror,
                    timeout=self.timeout,
                    url=url,
                    credentials=credentials,
                )
            finally:
                self._fetched(url)

    async def _init_mirror(self, mirror: Path, url: str) -> None:
        mirror.parent.mkdir(parents=True, exist_ok=True)
        staging = mirror.parent / f".init-{uuid.uuid4().hex}"
        env = git_environment(None, helper_dir=self.root / "helpers")
        await run_git(["init", "--quiet", "--bare", str(staging)], env=env, timeout=self.timeout, url=url)
        staging.rename(mirror)  # atomic: a half-initialised mirror is never seen at the final path

    # -- reads ------------------------------------------------------------------------------------

    def resolve(self, url: str, revision: str) -> str:
        """Commit SHA for a branch, tag, ``HEAD``, full or short SHA, or semver range over tags."""
        found = self._resolved.get((url, revision))
        if found is None:
            found = resolve_revision(self._loop_repo(url), revision, url=display_url(url))
            self._resolved[(url, revision)] = found
        return found

    def holds(self, url: str, refs: Mapping[str, str]) -> bool:
        """Whether the last fetch of ``url`` in this process left every branch or tag of ``refs`` at
        the given object id (an all-zero id: the ref was deleted, so it must be absent).

        Why: a push notification says what it pushed. When the mirror already holds that, a fetch
        would learn nothing, so however many deliveries announce one push, it is fetched once. The
        answer comes from the refs the last fetch left, not from the mirror itself, so it holds
        while another fetch runs (that one can only bring what was pushed since: the caller's
        comparison then sees it, or that fetch's own caller does). False for refs the mirror does
        not copy, for an empty ``refs`` (nothing known: fetch), before the first fetch of the
        process and after a failed one.
        """
        known = self._known_refs.get(self._key(url))
        if not refs or known is None:
            return False
        for name, target in refs.items():
            if not name.startswith(_MIRRORED):
                return False
            if known.get(name, "") != ("" if set(target) <= _ZERO_ID else target.lower()):
                return False
        return True

    def tree_hash(self, url: str, commit: str, path: str) -> str:
        """Git object id of ``path`` at ``commit``; "" when the path does not exist."""
        found = self._hashes.get((url, commit, path))
        if found is None:
            found = path_hash(self._loop_repo(url), commit, path, url=display_url(url))
            if len(self._hashes) >= _MEMO_LIMIT:
                self._hashes.clear()
            self._hashes[(url, commit, path)] = found
        return found

    def tag_of(self, url: str, revision: str) -> tuple[str, str | None, str] | None:
        """(tag name, annotated tag object id or None for a lightweight tag, commit it points at) of
        the tag ``revision`` names, as ``resolve`` reads it; None when it names no tag."""
        repo = self._loop_repo(url)
        name = revision_tag(repo, revision)
        if name is None:
            return None
        found = tag_object(repo, name)
        if found is None:
            return name, None, resolve_revision(repo, f"refs/tags/{name}", url=display_url(url))
        return name, found[0], found[1]

    async def checkout(self, url: str, commit: str, path: str = "") -> Path:
        """A read-only directory holding ``commit``'s tree, exported once, then reused; with ``path``
        (normalized), one holding only that folder or file at its place, unless the whole commit is
        already exported or more than ``FOLDERS_BEFORE_WHOLE`` folders of it were asked for.

        Why one path: after a push only the apps whose folder changed render, and exporting the
        whole commit for them costs as much as the repository is large (20,000 files of a fleet of
        10,000 apps: most of the time from push to cluster). The caller falls back to the whole
        commit when the render reads anything outside the folder (docs/architecture.md).
        """
        whole = self.checkout_path(commit)
        if (not path or commit not in self._not_whole) and self._exported(whole):
            return whole
        if path:
            self._not_whole.add(commit)  # looked for once: each app of a push would ask again
            folder = self.checkout_path(commit, path)
            if self._exported(folder):
                return folder  # an app's later passes at the same commit
            asked = self._folders_asked[commit] = self._folders_asked.get(commit, 0) + 1
            if asked > FOLDERS_BEFORE_WHOLE:
                path = ""  # many apps of one commit (a first sync): one export serves them all
        final = self.checkout_path(commit, path)
        key = str(final)
        running = self._checkouts.get(key)
        if running is None:
            running = self._track(asyncio.ensure_future(asyncio.to_thread(self._export, url, commit, path)))
            self._checkouts[key] = running
            running.add_done_callback(lambda done: self._export_done(key, commit, path, done))
        return await asyncio.shield(running)

    def _exported(self, final: Path) -> bool:
        """Whether ``final`` holds an export: remembered once seen (a look on disk costs a stat per
        app, slow on layered file systems), looked up otherwise."""
        if final in self._exports:
            return True
        if final.is_dir():
            self._remember(final)
            return True
        return False

    def _remember(self, final: Path) -> None:
        if len(self._exports) >= _MEMO_LIMIT:
            self._exports.clear()
            self._not_whole.clear()
            self._folders_asked.clear()
        self._exports.add(final)

    def _export_done(self, key: str, commit: str, path: str, done: asyncio.Future[Path]) -> None:
        self._checkouts.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self._remember(done.result())
            if not path:
                self._not_whole.discard(commit)

    def _export(self, url: str, commit: str, path: str) -> Path:
        final = self.checkout_path(commit, path)
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".export-{final.name}-{uuid.uuid4().hex}"
        try:
            export_tree(self._worker_repo(url), commit, staging, url=display_url(url), path=path)
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():
                raise
        finally:
            if staging.exists():
                make_writable(staging)
                shutil.rmtree(staging, ignore_errors=True)
        return final

    def discard_checkout(self, commit: str) -> None:
        """Delete one exported commit, and its one-path exports (re-exported on the next ``checkout``)."""
        for final in (self.checkout_path(commit), *self.root.joinpath("checkouts").glob(f"{commit}.*")):
            self._exports.discard(final)
            if final.is_dir():
                make_writable(final)
                shutil.rmtree(final)

    async def artifact(
        self,
        url: str,
        revision: str,
        path: str,
        *,
        credentials: GitCredentials | None = None,
        fetch: bool = True,
        folder_only: bool = False,
    ) -> Artifact:
        """Fetch (unless ``fetch`` is False), resolve, hash the path and check out: one app's input.
        ``folder_only``: the checkout may hold only the path (``checkout``; ``Artifact.partial``)."""
        rel = normalize_path(path)
        if fetch:
            await self.fetch(url, credentials=credentials)
        commit = self.resolve(url, revision)
        tree = self.tree_hash(url, commit, rel)
        root = await self.checkout(url, commit, rel if folder_only and tree else "")
        return Artifact(
            url=display_url(url),
            revision=revision,
            commit=commit,
            path=rel,
            tree=tree,
            root=root,
            partial=root != self.checkout_path(commit),
        )

    async def whole(self, url: str, artifact: Artifact) -> Artifact:
        """``artifact`` with the checkout of its whole commit (``url`` as the caller wrote it)."""
        if not artifact.partial:
            return artifact
        root = await self.checkout(url, artifact.commit)
        return replace(artifact, root=root, partial=False)
