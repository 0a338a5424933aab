"""``gitward preview``: what a change of a Git repository (base -> head) would do to the clusters.

Every app whose source is the repository is prepared at both commits with the engine's own steps
(``pipeline.prepare``: fetch, verify, render, validate, claims, plan), in a context that can write
nothing (``previewcontext``). An app is touched when its validated objects, plan, children or
destination differ between the two (one fingerprint each), or when the change adds or removes it;
only touched apps are shown in detail. For those, the head is dry-run against the live cluster
exactly as ``gitward app sync --dry-run`` does (``dryrun.dry_run``: server-side dry-runs, masked
diffs), with prune asked for, and the result is sorted into what would be created, changed and
pruned (``previewreport``).

Where the config comes from (``ConfigSource``): a local file or folder, the same for both commits;
or a path inside the repository, read at each commit, so an Application the change adds or removes
shows as all-created or all-pruned.

The app's inventory is proven by the ownership marks on the cluster (the preview reads no state
database): what it holds that the head no longer renders is pruned. An app that has never been
synced owns nothing yet; then what the base renders and the head does not is shown as pruned.

Every app of the repository is rendered at the two commits, whatever revision it tracks: the
preview answers "what if the head were deployed". Apps of other repositories are left out; an app
the change moves to or from another repository is changed, not added or removed, and an app the
head's config refuses is failed, not removed (the engine keeps it running).

The outcome per app: ``ok``; ``refused`` when the project's rules forbid the head (each violation
listed; nothing of it would be applied); ``failed`` when the head cannot be prepared (a render
error, an object another app owns, the cluster unreachable...). ``PreviewError`` is raised, and
nothing is reported, when the preview cannot run at all (a revision that does not exist, a config
that cannot be read).

Deliberately not here: the command line and the Markdown (``cli/preview.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.apply import VerdictCache, desired_digest
from gitward.cluster.connection import ConnectionSettings
from gitward.core.appstatus import AppStatus
from gitward.core.errors import GitwardError, PolicyError, ValidationError
from gitward.core.keys import ResourceKey
from gitward.core.redact import redact_url
from gitward.model import Application
from gitward.model.repository import Repository
from gitward.plan import stale
from gitward.reconcile import dryrun, pipeline, previewreport
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.previewconfig import (
    ConfigSource,
    PreviewError,
    Side,
    apps_of,
    kept_at_head,
    load_credentials,
    new_errors,
    read_sides,
)
from gitward.reconcile.previewcontext import PreviewClusters, PreviewContext
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.settings import EngineSettings
from gitward.render import RenderSettings, RenderTools

__all__ = ["ConfigSource", "PreviewError", "PreviewRequest", "load_credentials", "run_preview"]

FORMAT = 1  # of the report: bumped when a field changes meaning


@dataclass(frozen=True)
class PreviewRequest:
    """What to preview: the repository, the two revisions, where the config is."""

    repo: str
    base: str
    head: str
    config: ConfigSource
    render: RenderSettings = dataclasses.field(default_factory=RenderSettings)
    fetch_timeout: float = 120.0
    # Repository objects for every fetch, ahead of the config's own (``load_credentials``): the
    # repository itself must be fetched before a config inside it can be read.
    credentials: tuple[Repository, ...] = ()


@dataclass
class AppAtSide:
    """One app at one side: prepared (with its fingerprint) or the error that stopped it."""

    app: Application
    context: PreviewContext
    runtime: AppRuntime
    prepared: pipeline.Prepared | None = None
    fingerprint: str = ""
    error: GitwardError | None = None


async def run_preview(request: PreviewRequest) -> dict[str, Any]:
    """The report of what the head would change against the live clusters (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="gitward-preview-") as scratch:
        settings = EngineSettings(
            config_path=Path(scratch), state_path=Path(scratch) / "unused.db", render=request.render
        )
        fetcher = SourceFetcher(
            cache_dir=Path(scratch) / "cache",
            tools=RenderTools.discover(),
            render_settings=request.render,
            render_cache_entries=1024,
            fetch_freshness=float("inf"),  # one fetch per repository for the whole preview
            fetch_timeout=request.fetch_timeout,
        )
        clusters = PreviewClusters(ConnectionSettings(probe_interval=0.0))
        try:
            return await _preview(request, settings, fetcher, clusters)
        finally:
            await fetcher.git.close()
            await clusters.close()


async def _preview(
    request: PreviewRequest, settings: EngineSettings, fetcher: SourceFetcher, clusters: PreviewClusters
) -> dict[str, Any]:
    base, head = await read_sides(
        fetcher,
        repo=request.repo,
        revisions=(request.base, request.head),
        source=request.config,
        render=request.render,
        credentials=request.credentials,
    )
    base_ctx, head_ctx = (
        PreviewContext(
            config=side.config,
            config_folder=side.folder,
            settings=settings,
            fetcher=fetcher,
            clusters=clusters,
            credentials=request.credentials,
        )
        for side in (base, head)
    )
    before = {
        n: await _prepare(base_ctx, base, app)
        for n, app in sorted(apps_of(base.config, request.repo).items())
    }
    after = {
        name: await _prepare(head_ctx, head, app, also_rendered=_rendered(before.get(name)))
        for name, app in sorted(apps_of(head.config, request.repo).items())
    }
    apps, unchanged = await _compare(before, after, base, head)
    return {
        "format": FORMAT,
        "repo": redact_url(request.repo),
        "base": {"revision": base.revision, "commit": base.commit},
        "head": {"revision": head.revision, "commit": head.commit},
        "config": request.config.describe(),
        "configErrors": new_errors(base.config, head.config),
        "configNotes": list(head.notes),
        "apps": apps,
        "unchanged": unchanged,
        "summary": previewreport.summary(apps, unchanged),
    }


async def _compare(
    before: dict[str, AppAtSide], after: dict[str, AppAtSide], base: Side, head: Side
) -> tuple[list[dict[str, Any]], list[str]]:
    """The touched apps' reports, and the names of the others. An app of the repository at one end
    only, declared at the other from another repository, moved: it is not added or removed."""
    shared = previewreport.shared_objects({n: p.prepared for n, p in after.items() if p.prepared is not None})
    kept = kept_at_head(head.config)
    apps: list[dict[str, Any]] = []
    unchanged: list[str] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        elsewhere = head.config.application(name) if new is None else base.config.application(name)
        if new is None and old is not None and (name in kept or "" in kept):
            header = previewreport.app_header(old.app, change="changed")
            why = ValidationError(kept.get(name) or kept[""], reason="InvalidSpec")
            apps.append(previewreport.failed(header, why))
        elif new is None and elsewhere is not None:  # still declared, from another repository
            header = previewreport.app_header(elsewhere, change="changed")
            header["notes"].append(
                f"the head takes it from {redact_url(elsewhere.spec.source.repo_url)}: not previewed"
            )
            apps.append(header)
        elif _untouched(old, new) and name not in shared:
            unchanged.append(name)
        else:
            report = await _report(old, new, head, shared.get(name, {}))
            if old is None and elsewhere is not None:
                report["change"] = "changed"
                report["notes"].append(
                    f"at the base it came from {redact_url(elsewhere.spec.source.repo_url)}"
                )
            apps.append(report)
    return apps, unchanged


async def _prepare(
    ctx: PreviewContext, side: Side, app: Application, *, also_rendered: Collection[ResourceKey] = ()
) -> AppAtSide:
    """The app prepared at ``side``'s commit, with the inventory the cluster's marks prove (a
    namespace CreateNamespace made counts only when Git renders it, here or in ``also_rendered``)."""
    runtime = AppRuntime(app=app, status=AppStatus(), verdicts=VerdictCache(), inventory=[])
    out = AppAtSide(app=app, context=ctx, runtime=runtime)
    ctx.fetcher.repositories = ctx.credentials + ctx.config.repositories
    ctx.fetcher.plugins = ctx.config.plugins  # the side's config-management plugins
    ctx.fetcher.project_of = ctx.project  # signature rules of the side's projects
    try:
        conn = await ctx.connection(app.spec.destination.cluster)
        marked = (await ctx.marked_inventories(conn)).get(app.name, ())
        runtime.inventory = sorted(pipeline.inventory_from_marks(app, marked, rendered=also_rendered))
        out.prepared = await pipeline.prepare(ctx, runtime, _request(side))
    except GitwardError as err:
        out.error = err
        return out
    rendered = {*also_rendered, *(e.key for e in out.prepared.inventory)}
    runtime.inventory = sorted(pipeline.inventory_from_marks(app, marked, rendered=rendered))
    out.fingerprint = _fingerprint(app, out.prepared)
    return out


def _rendered(found: AppAtSide | None) -> frozenset[ResourceKey]:
    if found is None or found.prepared is None:
        return frozenset()
    return frozenset(e.key for e in found.prepared.inventory)


def _request(side: Side) -> SyncRequest:
    return SyncRequest(trigger="preview", revision=side.commit, prune=True)


def _fingerprint(app: Application, prepared: pipeline.Prepared) -> str:
    """What decides what a sync of the app does: destination, validated objects, plan, children."""
    document = {
        "cluster": app.spec.destination.cluster,
        "objects": [desired_digest(m) for m in prepared.manifests],
        "plan": prepared.plan.digest,
        "children": [desired_digest(c) for c in prepared.desired.children],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _untouched(old: AppAtSide | None, new: AppAtSide | None) -> bool:
    if old is None or new is None or old.error is not None or new.error is not None:
        return False
    return old.fingerprint == new.fingerprint


async def _report(
    old: AppAtSide | None, new: AppAtSide | None, head: Side, shared: dict[ResourceKey, list[str]]
) -> dict[str, Any]:
    """One touched app: its head dry-run sorted into created, changed and pruned, or why not."""
    if new is None:
        assert old is not None
        try:
            return await previewreport.removed_app(old.app, old.context, old.runtime, old.prepared)
        except GitwardError as err:
            return previewreport.failed(previewreport.app_header(old.app, change="removed"), err)
    out = previewreport.app_header(new.app, change="added" if old is None else "changed")
    if old is not None and old.error is not None:
        out["notes"].append(f"at the base it could not be prepared: {old.error.reason}: {old.error.message}")
    if new.error is not None:
        if isinstance(new.error, PolicyError):
            return previewreport.refused(out, previewreport.violations_of(new.error))
        return previewreport.failed(out, new.error)
    assert new.prepared is not None
    try:
        plan = await dryrun.dry_run(new.context, new.runtime, _request(head))
    except GitwardError as err:
        return previewreport.failed(out, err)
    previewreport.fill_from_plan(out, plan)
    out["violations"] = previewreport.shared_violations(shared)
    if out["prune"] == "disabled":
        previewreport.add_kept(out, stale(new.runtime.inventory, new.prepared.inventory))
    if not new.runtime.inventory and old is not None and old.prepared is not None:
        base_only = stale(list(old.prepared.inventory), new.prepared.inventory)
        previewreport.add_base_prunes(out, base_only, {ResourceKey.of(m): m for m in old.prepared.objects})
    before = old.context.children.get(old.app.name, []) if old is not None else []
    out["children"] = previewreport.children_change(before, new.context.children.get(new.app.name, []))
    return out
