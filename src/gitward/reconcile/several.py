"""An app of several sources (``spec.sources``, Argo CD's multi-source apps): each source fetched,
verified and rendered on its own, the objects concatenated.

Each source is run as a one-source view of the app (``part_of``), so it goes through exactly the
fetch, signature and render steps of any app. A source with ``ref`` gives its checkout to the Helm
value files of the others written ``$ref/path`` (read from that repository's root, inside it), and
is rendered itself only with a ``path`` or ``chart``. Each source is fetched at its own revision, so
the app's commit is the sources' commits joined with ``,``, and its input key covers every
source (the trees rendered and the whole trees of the ``ref`` sources they read): a push to any of
the repositories wakes the app when what it reads changed. ``--revision`` and rollback, which name
one revision, are refused. Two sources rendering the same object are refused later, like any
duplicate (``policy/duplicates.py``).

Deliberately not here: the one-source path (``desired.py``), the model's rules (``model/application.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gitward.core.errors import FetchError, GitwardError, RenderError, Stalled
from gitward.core.steps import Step
from gitward.model import Application
from gitward.model.source import Source
from gitward.render.manifests import manifests_digest
from gitward.sources import Artifact, GitCache

SEVERAL = "sources:"  # prefix of a several-source app's input key


class Rendered(Protocol):
    @property
    def objects(self) -> tuple[dict[str, Any], ...]: ...

    @property
    def children(self) -> tuple[dict[str, Any], ...]: ...

    @property
    def engine(self) -> str: ...


class Fetcher(Protocol):
    """What of ``desired.SourceFetcher`` a several-source render uses."""

    git: GitCache

    async def artifact(
        self, app: Application, revision: str, *, fetch: bool, force_fetch: bool = False
    ) -> Artifact: ...

    async def verify(self, app: Application, revision: str, artifact: Artifact) -> None: ...

    async def input_key(self, app: Application, artifact: Artifact) -> tuple[str, str | None]: ...

    async def render_artifact(
        self,
        app: Application,
        revision: str,
        artifact: Artifact,
        kube_version: str,
        api_versions: list[str],
        *,
        value_roots: Mapping[str, Path] | None = None,
        extra_key: str = "",
    ) -> Rendered: ...


@dataclass(frozen=True)
class Combined:
    """The sources' renders as one: what ``desired.Desired`` holds for the app."""

    revision: str
    commit: str
    tree: str
    digest: str
    objects: tuple[dict[str, Any], ...]
    children: tuple[dict[str, Any], ...]
    engine: str


def part_of(app: Application, source: Source) -> Application:
    """The app as if ``source`` were its only one (name, destination, policy unchanged)."""
    spec = app.spec.model_copy(update={"source": source, "sources": ()})
    return app.model_copy(update={"spec": spec})


def refuse_other_revision(app: Application, revision: str) -> None:
    if revision != app.spec.source.revision:
        raise Stalled(
            f"application {app.name!r} has several sources, each synced at its own revision: a sync to "
            f"revision {revision!r} or a rollback is not supported (edit the sources' revisions instead)",
            reason="SeveralSources",
            step=Step.FETCH,
        )


async def desired(
    fetcher: Fetcher,
    app: Application,
    revision: str,
    *,
    fetch: bool,
    force_fetch: bool,
    kube_version: str,
    api_versions: list[str],
) -> Combined:
    refuse_other_revision(app, revision)
    parts = [part_of(app, source) for source in app.spec.sources]
    artifacts = [await _fetched(fetcher, part, fetch=fetch, force_fetch=force_fetch) for part in parts]
    roots = {
        part.spec.source.ref: (artifact, _root_tree(fetcher.git, part.spec.source, artifact))
        for part, artifact in zip(parts, artifacts, strict=True)
        if part.spec.source.ref is not None
    }
    keys: list[str] = []
    objects: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    engines: list[str] = []
    for part, artifact in zip(parts, artifacts, strict=True):
        source = part.spec.source
        if not source.renders:
            keys.append(f"ref:{roots[str(source.ref)][1]}")
            continue
        refs = {name: roots[name] for name in source.value_refs()}
        extra = "\n".join(f"${name}={tree}" for name, (_artifact, tree) in sorted(refs.items()))
        try:
            rendered = await fetcher.render_artifact(
                part, source.revision, artifact, kube_version, api_versions,
                value_roots={name: a.root for name, (a, _tree) in refs.items()}, extra_key=extra,
            )  # fmt: skip
        except GitwardError as err:
            err.at(Step.RENDER)
            raise
        keys.append((await fetcher.input_key(part, artifact))[0] + ("\n" + extra if extra else ""))
        objects.extend(rendered.objects)
        children.extend(rendered.children)
        engines.append(rendered.engine)
    return Combined(
        revision=",".join(s.revision for s in app.spec.sources),
        commit=",".join(a.commit for a in artifacts),
        tree=_key(keys),
        digest=manifests_digest([*objects, *children]),
        objects=tuple(objects),
        children=tuple(children),
        engine=",".join(dict.fromkeys(engines)),
    )


async def _fetched(fetcher: Fetcher, part: Application, *, fetch: bool, force_fetch: bool) -> Artifact:
    source = part.spec.source
    try:
        artifact = await fetcher.artifact(part, source.revision, fetch=fetch, force_fetch=force_fetch)
    except GitwardError as err:
        err.at(Step.FETCH)
        raise
    if source.renders and not artifact.tree:
        raise RenderError(
            f"path {source.path!r} of {source.repo_url} does not exist at {artifact.commit[:12]}",
            reason="PathNotFound",
            step=Step.FETCH,
        )
    try:
        await fetcher.verify(part, source.revision, artifact)
    except GitwardError as err:
        err.at(Step.VERIFY)
        raise
    return artifact


def _root_tree(git: GitCache, source: Source, artifact: Artifact) -> str:
    """The whole repository's tree at the artifact's commit: ``$ref/`` files may be anywhere in it."""
    return artifact.tree if not source.path else git.tree_hash(source.repo_url, artifact.commit, "")


def _key(keys: list[str]) -> str:
    return SEVERAL + hashlib.sha256("\n--\n".join(keys).encode()).hexdigest()


async def current_input(fetcher: Fetcher, app: Application) -> str:
    """The app's input key in the mirrors as they are now (no fetch), computed as ``desired`` does;
    a chart, OCI or bucket source cannot be read without the network, so such an app is always "changed"
    (its pass then fetches, and renders from cache when nothing did change)."""
    if any(source.chart or source.is_oci or source.is_bucket for source in app.spec.sources):
        return SEVERAL + "unknown"
    parts = [part_of(app, source) for source in app.spec.sources]
    trees: dict[str, str] = {}
    for part in parts:
        source = part.spec.source
        if source.ref is not None:
            commit = fetcher.git.resolve(source.repo_url, source.revision)
            trees[source.ref] = fetcher.git.tree_hash(source.repo_url, commit, "")
    keys = []
    for part in parts:
        source = part.spec.source
        if not source.renders:
            keys.append(f"ref:{trees[str(source.ref)]}")
            continue
        artifact = await fetcher.git.artifact(source.repo_url, source.revision, source.path, fetch=False)
        if not artifact.tree:
            raise FetchError(
                f"path {source.path!r} of {source.repo_url} does not exist at {artifact.commit[:12]}"
            )
        extra = "\n".join(f"${name}={trees[name]}" for name in sorted(source.value_refs()))
        keys.append((await fetcher.input_key(part, artifact))[0] + ("\n" + extra if extra else ""))
    return _key(keys)
