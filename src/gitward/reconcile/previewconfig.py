"""The two ends of a ``gitward preview``: each revision's commit and the gitward config read for it.

The repository is fetched once and both revisions resolved in its mirror (``sources/gitcache.py``),
so a revision that does not exist stops the preview before anything else. A full ref or commit the
mirror's branches and tags do not hold (a pull request's head from a fork, ``refs/pull/7/head``) is
fetched on its own (``GitCache.fetch_ref``). The config is either a
local file or folder, read once for both ends, or a path inside the repository, read from each
commit's checkout; there every file must stay inside the checkout (``render/sandbox.py``: the rule
renders follow), and a path absent at one end is an empty config there, so the Applications the
change adds or removes show as such. Either way the config is loaded as ``gitward run`` loads it
(``reconcile/config.py``) and refused as the engine refuses it (dependsOn cycles, unreadable sync
windows).

The repository must be fetched before a config inside it can be read, so credentials for it come
from Repository objects given apart (``load_credentials``) or from a local config.

Deliberately not here: preparing apps (``preview``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitward.core.errors import FetchError, GitwardError
from gitward.core.redact import redact_url
from gitward.core.repourl import same_repository
from gitward.model import Application, LoadedConfig
from gitward.model.loader import lists_as_application
from gitward.model.repository import Repository
from gitward.reconcile.config import load_config
from gitward.reconcile.cycles import check_cycles
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.engine import unreadable
from gitward.reconcile.windowbook import check_windows
from gitward.render import RenderSettings
from gitward.render.sandbox import safe_join, walk_files
from gitward.sources import GitCredentials

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")


class PreviewError(GitwardError):
    """The preview could not run at all; nothing is reported."""

    reason = "PreviewFailed"


@dataclass(frozen=True)
class ConfigSource:
    """A local file or folder (``local``), else a path inside the repository (``in_repository``)."""

    local: Path | None = None
    in_repository: str = ""

    def describe(self) -> dict[str, str]:
        if self.local is not None:
            return {"source": "local", "path": str(self.local)}
        return {"source": "repository", "path": self.in_repository}


@dataclass(frozen=True)
class Side:
    """One end of the change: the commit, and the config (with its folder) read for it."""

    label: str  # "base" or "head"
    revision: str  # as the user gave it
    commit: str
    config: LoadedConfig
    folder: Path  # relative paths of the config resolve here
    notes: tuple[str, ...] = ()  # what the preview took from elsewhere, and why


async def read_sides(
    fetcher: SourceFetcher,
    *,
    repo: str,
    revisions: tuple[str, str],
    source: ConfigSource,
    render: RenderSettings,
    credentials: Sequence[Repository] = (),
) -> tuple[Side, Side]:
    """Fetch the repository once, resolve both revisions (base, head), read the config at each."""
    local = _load_local(source.local, render) if source.local is not None else None
    fetcher.repositories = tuple(credentials) + (local.repositories if local is not None else ())
    try:
        credentials_of_repo = await fetcher.credentials(repo)
        await fetcher.fetch_repository(repo, credentials=credentials_of_repo)
        commits = [await _resolve(fetcher, repo, revision, credentials_of_repo) for revision in revisions]
    except GitwardError as err:
        shown = redact_url(repo)
        raise PreviewError(err.message if shown in err.message else f"{shown}: {err.message}") from None
    sides: list[Side] = []
    for label, revision, commit in zip(("base", "head"), revisions, commits, strict=True):
        if source.local is not None and local is not None:
            folder = source.local if source.local.is_dir() else source.local.parent
            sides.append(Side(label, revision, commit, local, folder.absolute()))
        else:
            root = await fetcher.git.checkout(repo, commit)
            config, folder = _load_in_checkout(root, source.in_repository, commit=commit, render=render)
            sides.append(Side(label, revision, commit, config, folder))
    if source.local is None and not any(side.folder.exists() for side in sides):
        where = source.in_repository
        raise PreviewError(f"config path {where!r} exists at neither {revisions[0]} nor {revisions[1]}")
    if source.local is None:
        sides[1] = reaching_as_base(sides[0], sides[1])
    return sides[0], sides[1]


def reaching_as_base(base: Side, head: Side) -> Side:
    """The head with the base's Clusters and Repositories. They name kubeconfig and credential
    files on the machine that runs the preview, so a pull request must not choose them: what it
    changes there is shown as a note and takes effect only once merged."""
    notes: list[str] = []
    for kind, old, new in (
        ("Cluster", base.config.clusters, head.config.clusters),
        ("Repository", base.config.repositories, head.config.repositories),
    ):
        before, after = {o.name: o for o in old}, {n.name: n for n in new}
        changed = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
        if changed:
            notes.append(
                f"{kind} {', '.join(changed)} changed by the head: previewed with the base's, since a "
                "pull request does not choose the clusters and credentials its preview reaches"
            )
    config = replace(head.config, clusters=base.config.clusters, repositories=base.config.repositories)
    return replace(head, config=config, notes=tuple(notes))


async def _resolve(
    fetcher: SourceFetcher, repo: str, revision: str, credentials: GitCredentials | None
) -> str:
    """The commit of ``revision``; a full ref or SHA the mirror does not hold (a pull request's head,
    ``refs/pull/7/head``) is fetched on its own first."""
    try:
        return fetcher.git.resolve(repo, revision)
    except FetchError as err:
        if err.reason != "RevisionNotFound" or not (
            revision.startswith("refs/") or _FULL_SHA.match(revision)
        ):
            raise
    await fetcher.git.fetch_ref(repo, revision, credentials=credentials)
    return fetcher.git.resolve(repo, revision)


def load_credentials(path: Path, *, render: RenderSettings | None = None) -> tuple[Repository, ...]:
    """The Repository objects of a local file or folder (read as the config is); anything else in
    it is refused, naming it, so nothing given is ignored."""
    try:
        loaded = load_config(path.absolute(), settings=render or RenderSettings())
    except GitwardError as err:
        raise PreviewError(f"credentials {path}: {err.message}") from None
    if loaded.errors:
        error = loaded.errors[0]
        raise PreviewError(
            f"credentials {path}: {' '.join(filter(None, (error.kind, error.name)))}: {error.message}"
        )
    others = [
        f"{kind} {obj.name!r}"
        for kind, objects in (
            ("Application", loaded.applications),
            ("Cluster", loaded.clusters),
            ("Project", loaded.projects),
            ("Receiver", loaded.receivers),
            ("Notification", loaded.notifications),
            ("Role", loaded.roles),
            ("RoleBinding", loaded.role_bindings),
            ("OIDCProvider", loaded.oidc_providers),
        )
        for obj in objects
    ]
    if others:
        raise PreviewError(f"credentials {path} may hold Repository objects only, not {', '.join(others)}")
    return loaded.repositories


def _load_local(path: Path, render: RenderSettings) -> LoadedConfig:
    try:
        return _checked(load_config(path.absolute(), settings=render))
    except GitwardError as err:
        raise PreviewError(f"config {path}: {err.message}") from None


def _load_in_checkout(
    root: Path, path: str, *, commit: str, render: RenderSettings
) -> tuple[LoadedConfig, Path]:
    """The config at ``path`` of a checkout, and its folder; an absent path is an empty config."""
    try:
        target = safe_join(root, path)
        if target.is_dir():
            for _ in walk_files(target, root=root, skip_hidden=False, settings=render):
                pass  # refuses a symlink that leaves the checkout, and too many or too large files
        if not target.exists():
            return LoadedConfig(), target
        folder = target if target.is_dir() else target.parent
        return _checked(load_config(target, settings=render)), folder
    except GitwardError as err:
        raise PreviewError(f"config {path!r} at {commit[:12]}: {err.message}") from None


def _checked(config: LoadedConfig) -> LoadedConfig:
    """The config as the engine takes it: dependsOn cycles and unreadable sync windows refused."""
    config, _windows = check_windows(check_cycles(config))
    return config


def apps_of(config: LoadedConfig, repo: str) -> dict[str, Application]:
    """The config's apps whose source is a Git folder of ``repo`` (URLs compared as the engine
    matches webhooks: ``core/repourl.py``). Helm charts and OCI artifacts are not Git folders,
    whatever their URL."""
    return {
        app.name: app
        for app in config.applications
        if same_repository(app.spec.source.repo_url, repo)
        and not app.spec.source.chart
        and not app.spec.source.is_oci_artifact
    }


def kept_at_head(config: LoadedConfig) -> dict[str, str]:
    """Apps the head's config refuses, with why: the engine keeps such an app running with its last
    good spec, so the change does not remove it. Under "" when part of the config could not be read
    at all: then no app counts as removed (``engine.unreadable``)."""
    kept = {
        e.name: f"the head's config refuses it: {e.message}" for e in config.errors if lists_as_application(e)
    }
    problems = unreadable(config)
    if problems:
        kept[""] = f"the head's config cannot be read, so no app counts as removed: {problems[0].message}"
    return kept


def new_errors(base: LoadedConfig, head: LoadedConfig) -> list[dict[str, Any]]:
    """Objects the head's config refuses that the base's did not (the change's own mistakes)."""
    known = {(e.kind, e.name, e.message) for e in base.errors}
    return [
        {"kind": e.kind, "name": e.name, "message": e.message}
        for e in head.errors
        if (e.kind, e.name, e.message) not in known
    ]
