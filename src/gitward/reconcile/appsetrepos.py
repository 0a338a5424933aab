"""The Git side of an ApplicationSet's generation: the commits its Git generators read.

The generators are pure and run in a worker thread (``gitward.appset``); they read repositories
through ``FetchedRepositories.tree``, which answers from commits prepared here beforehand. When a
generator names a repository revision not prepared yet it raises ``NotFetched``; the caller then
``prepare``s it (fetch once per generation unless the mirror is fresh, resolve the revision on the
event loop, export the commit through the shared Git cache, list it in a thread) and runs the
generators again.

A prepared commit is a read-only checkout (``sources/gitcache.py``): its folders, none below a folder
whose name starts with ``.``; its files; symbolic links are listed as files and refused when read
(the files generator reads regular files only), and a link to a folder is no folder. A file is read
at most ``max_file_bytes`` and parsed as one YAML or JSON document with the bounded loader of
manifests (aliases, depth and size capped).

Deliberately not here: what the generators do with a tree (``gitward.appset.gitgen``).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gitward.appset import GeneratorError, NotFetched, RepoTree
from gitward.core.errors import GitwardError
from gitward.reconcile.desired import SourceFetcher
from gitward.render import RenderSettings
from gitward.render.yamlload import load_json_document, load_yaml_documents
from gitward.sources.credentials import display_url

#: Entries (folders and files) one commit may list: a generator over more is refused.
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class CheckoutTree:
    """One exported commit, listed."""

    root: Path
    directories: tuple[str, ...]
    files: tuple[str, ...]
    links: frozenset[str]
    settings: RenderSettings

    @classmethod
    def read(cls, root: Path, settings: RenderSettings) -> CheckoutTree:
        directories: list[str] = []
        files: list[str] = []
        links: set[str] = set()
        for folder, names, file_names in os.walk(root):
            here = PurePosixPath(Path(folder).relative_to(root).as_posix())
            kept = []
            for name in names:
                path = (here / name).as_posix().removeprefix("./")
                if name.startswith("."):
                    continue
                if (Path(folder) / name).is_symlink():
                    links.add(path)
                    files.append(path)
                    continue
                kept.append(name)
                directories.append(path)
            names[:] = kept
            for name in file_names:
                path = (here / name).as_posix().removeprefix("./")
                if (Path(folder) / name).is_symlink():
                    links.add(path)
                files.append(path)
            if len(directories) + len(files) > MAX_ENTRIES:
                raise GeneratorError(f"the commit has more than {MAX_ENTRIES} files and folders")
        return cls(root, tuple(sorted(directories)), tuple(sorted(files)), frozenset(links), settings)

    def document(self, path: str) -> Any:
        if path in self.links:
            raise GeneratorError(f"{path} is a symbolic link; the files generator reads regular files only")
        full = self.root / path
        limit = self.settings.max_file_bytes
        with open(full, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise GeneratorError(f"{path} is larger than {limit} bytes")
        try:
            if path.endswith(".json"):
                return load_json_document(data, where=path, settings=self.settings)
            documents = list(load_yaml_documents(data, where=path, settings=self.settings))
        except GitwardError as exc:
            raise GeneratorError(exc.message) from None
        if len(documents) > 1:
            raise GeneratorError(
                f"{path} holds {len(documents)} YAML documents; the files generator reads one"
            )
        return documents[0] if documents else None


class FetchedRepositories:
    """``gitward.appset.Repositories`` over the commits one generation prepared."""

    def __init__(self, fetcher: SourceFetcher, settings: RenderSettings, *, freshness: float) -> None:
        self._fetcher = fetcher
        self._settings = settings
        self._freshness = freshness
        self._fetched: set[str] = set()
        self._trees: dict[tuple[str, str], CheckoutTree] = {}
        self.commits: dict[str, str] = {}  # "url@revision" -> commit, for the set's status

    def tree(self, url: str, revision: str) -> RepoTree:
        found = self._trees.get((url, revision))
        if found is None:
            raise NotFetched(url, revision)
        return found

    async def prepare(self, url: str, revision: str) -> None:
        """Fetch ``url`` (once per generation, unless fresh), resolve ``revision``, list its commit;
        a GitwardError (FetchError for Git) when that fails."""
        git = self._fetcher.git
        if url not in self._fetched:
            if not self._fetcher.fetched_within(url, self._freshness):
                credentials = await self._fetcher.credentials(url)
                await self._fetcher.fetch_repository(url, credentials=credentials)
            self._fetched.add(url)
        commit = git.resolve(url, revision)
        root = await git.checkout(url, commit)
        self._trees[(url, revision)] = await asyncio.to_thread(CheckoutTree.read, root, self._settings)
        self.commits[f"{display_url(url)}@{revision}"] = commit
