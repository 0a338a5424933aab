"""One reconcile of one app, end to end: fetch -> render -> validate -> plan -> apply -> prune -> record.

Safety rules (docs/architecture.md) live here as the order of the steps: everything that can fail for a reason
other than the cluster (fetch, render, policy, claims, an empty render) happens before the first
write, and a failure there leaves the cluster and the stored inventory exactly as they were; that
includes the sync plan (``planning.render_plan``: hooks, waves, options). Running the plan is
``execution``: prune runs only after every apply before it succeeded, only for objects the stored
inventory names and the live object proves we own (``apply.prune``). An object belongs to one app:
``check_claims`` refuses what another app claims or marks, and the pass repeats it when it takes the
sync's claims and records, before the first write, what the sync may create (``not_yet_owned``), so a
crash never orphans an object.

Speed rules: a reconcile whose manifests did not change and whose objects did not drift sends no
request at all (the verdict cache and the watch-fed cluster cache answer), and the dry-run runs only
for objects whose standing is unknown.
Deliberately not here: when reconciles run (``scheduler``), running a sync (``execution``), the status
shape (``outcome``, ``core/appstatus.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.apply import (
    Standing,
    desired_digest,
    diff_app,
    foreign_owner,
    standing,
)
from gitward.cluster.connection import ClusterConnection
from gitward.core.errors import ClusterError, GitwardError, RenderError, ValidationError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.steps import Step
from gitward.diff import IgnoreRule
from gitward.diff import compare as compare_objects
from gitward.diff.drift import project as live_projection
from gitward.model import Application, Project
from gitward.plan import SyncPlan, fill_namespaces, inventory_of, stale
from gitward.policy import Limits, validate_render
from gitward.reconcile import planning
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.desired import Desired
from gitward.reconcile.drift import ignore_rules as ignore_rules
from gitward.reconcile.runtime import AppRuntime, SyncRequest

log = logging.getLogger("gitward.reconcile")


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the first write."""

    connection: ClusterConnection
    desired: Desired
    objects: tuple[dict[str, Any], ...]  # the app's own (no hooks): namespaces filled, marked, plan order
    inventory: tuple[InventoryEntry, ...]
    digests: Mapping[ResourceKey, str]  # of each marked object, computed once per render
    manifests: tuple[dict[str, Any], ...]  # what the plan is built from: objects marked, hooks as rendered
    plan: SyncPlan  # the render's plan, without deletions (``planning.render_plan``)


async def _namespaced_lookup(
    conn: ClusterConnection, objects: Sequence[Mapping[str, Any]]
) -> dict[tuple[str, str], bool | None]:
    """Scope of every kind rendered: discovery first, then CRDs in the same render."""
    crd_scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            crd_scopes[(str(spec.get("group", "")), str(names.get("kind", "")))] = (
                spec.get("scope") != "Cluster"
            )
    scopes: dict[tuple[str, str], bool | None] = {}
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        if (group, kind) in scopes:
            continue
        try:
            scopes[(group, kind)] = (await conn.client.resource_for(api_version, kind)).namespaced
        except ClusterError as err:
            if err.status != 404:
                raise
            scopes[(group, kind)] = crd_scopes.get((group, kind))
    return scopes


async def prepare(ctx: PipelineContext, rt: AppRuntime, req: SyncRequest) -> Prepared:
    """Fetch, render and validate; raises before anything is written."""
    app = rt.app
    conn = await ctx.connection(app.spec.destination.cluster)
    kube_version = await conn.client.server_version()
    api_versions = await conn.client.api_versions()
    revision = req.revision or rt.pinned_revision or app.spec.source.revision
    desired = await ctx.fetcher.desired(
        app,
        revision,
        fetch=req.fetch,
        force_fetch=req.force_fetch,
        kube_version=kube_version,
        api_versions=api_versions,
    )
    problems = ctx.apply_children(rt, desired.children)
    if problems:
        raise ValidationError("; ".join(problems), reason="InvalidChildApplication", step=Step.VALIDATE)
    automated = app.spec.sync_policy.automated
    if not desired.objects and not desired.children and not (automated and automated.allow_empty):
        raise RenderError(
            "render produced no objects; nothing is applied or pruned "
            "(set syncPolicy.automated.allowEmpty: true if an empty app is intended)",
            reason="EmptyRender",
            step=Step.RENDER,
        )
    scopes = await _namespaced_lookup(conn, desired.objects)
    project = ctx.project(app.spec.project)
    if project is None:
        raise ValidationError(
            f"project {app.spec.project!r} does not exist", reason="ProjectNotFound", step=Step.VALIDATE
        )
    memo_key = (desired.digest, app, project, tuple(sorted(scopes.items())))
    if rt.prepared_memo is not None and rt.prepared_memo[0] == memo_key:
        validated: _Validated = rt.prepared_memo[1]
    else:
        validated = _validated(ctx, rt, desired, scopes, project)
        rt.prepared_memo = (memo_key, validated)
    marked, inventory, digests, manifests, plan = validated
    check_claims(ctx, rt, conn, digests)
    return Prepared(conn, desired, marked, inventory, digests, manifests, plan)


_Validated = tuple[
    tuple[dict[str, Any], ...],
    tuple[InventoryEntry, ...],
    dict[ResourceKey, str],
    tuple[dict[str, Any], ...],
    SyncPlan,
]


def _validated(
    ctx: PipelineContext,
    rt: AppRuntime,
    desired: Desired,
    scopes: Mapping[tuple[str, str], bool | None],
    project: Project,
) -> _Validated:
    """Namespaces filled, project rules and limits checked, the plan built (every hook, wave and option
    annotation checked), marks added: the same for the same render, so the result is remembered per app
    and a no-op reconcile does none of this work again."""
    app = rt.app
    objects = fill_namespaces(
        list(desired.objects),
        default_namespace=app.spec.destination.namespace or "default",
        is_namespaced=lambda group, kind: scopes.get((group, kind)),
    )
    limits = Limits(
        max_objects=ctx.settings.max_objects_per_app, max_object_bytes=ctx.settings.max_object_bytes
    )
    try:
        validate_render(project, app, objects, is_namespaced=lambda g, k: scopes.get((g, k)), limits=limits)
        manifests = tuple(planning.planned_manifests(objects, app=app.name))  # foreign kinds refused
    except GitwardError as err:
        err.at(Step.VALIDATE)
        raise
    try:
        plan = planning.render_plan(manifests, app.spec.sync_policy)
    except GitwardError as err:
        err.at(Step.PLAN)
        raise
    try:
        planning.check_served(plan, scopes)  # kinds nobody serves, Argo CD or Flux objects
    except GitwardError as err:
        err.at(Step.VALIDATE)
        raise
    marked = tuple(plan.inventory_objects())
    digests = {ResourceKey.of(o): desired_digest(o) for o in marked}
    return marked, tuple(inventory_of(list(marked))), digests, manifests, plan


def check_claims(
    ctx: PipelineContext, rt: AppRuntime, conn: ClusterConnection, keys: Iterable[ResourceKey]
) -> None:
    """An object may belong to one app only (docs/reliability.md, bad input 8): refuse, never
    flip-flop. Synchronous on purpose: the pass calls it again right before a sync takes its
    claims, in the same step, so no other app can claim in between.

    An object already in this app's inventory is claimed by it, so only new objects have their
    live mark read (a mark that changed later is refused at the write, ``apply.guard``).
    """
    claims: list[str] = []
    owned = {entry.key for entry in rt.inventory}
    released = ctx.released_owners()  # removed apps: their marks bind nobody, the object is adopted
    for key in keys:
        other = ctx.claimed_by_other(rt.name, key)
        if other is None and key not in owned:
            other = foreign_owner(conn.cache.get(key), rt.name, released)
        if other is not None:
            claims.append(f"{key} is managed by application {other!r}")
    if claims:
        raise ValidationError("; ".join(sorted(claims)), reason="SharedResource", step=Step.CLAIMS)


async def watch_kinds(
    conn: ClusterConnection, objects: Sequence[Mapping[str, Any]], inventory: Sequence[InventoryEntry]
) -> None:
    """Make the cluster cache watch every kind the app owns; kinds not served yet are skipped."""
    kinds = {(str(o.get("apiVersion", "")), str(o.get("kind", ""))) for o in objects}
    kinds |= {(e.api_version, e.key.kind) for e in inventory}
    for api_version, kind in sorted(kinds):
        if conn.cache.is_watched(api_version, kind):
            continue
        try:
            await conn.cache.ensure_watched(api_version, kind)
        except ClusterError as err:
            if err.status not in (404, 403):
                raise


async def listable_kinds(conn: ClusterConnection) -> list[tuple[str, str]]:
    """Every listable kind the cluster serves, not only the rendered ones: an object whose kind left
    Git while the database was lost must still be found (and pruned). One version per kind, so an
    object served in two versions is listed once.
    """
    versions: dict[tuple[str, str], str] = {}
    for res in await conn.client.discovery.resources():
        if "list" in res.verbs:
            versions.setdefault((res.group, res.kind), res.api_version)
    return sorted((api_version, kind) for (_, kind), api_version in versions.items())


async def restore_inventory(
    ctx: PipelineContext, rt: AppRuntime, conn: ClusterConnection, prepared: Prepared
) -> None:
    """After the state database was lost: rebuild what this app owns from the marks on live objects."""
    if rt.inventory_known:
        return
    marked = (await ctx.marked_inventories(conn)).get(rt.name, ())
    found = inventory_from_marks(rt.app, marked, rendered={e.key for e in prepared.inventory})
    restored = sorted(set(rt.inventory) | set(found))
    if restored != rt.inventory:  # a new app finds nothing: no write
        rt.inventory = restored
        ctx.store.save_inventory(rt.name, rt.inventory)
    rt.inventory_known = True
    await watch_kinds(conn, (), rt.inventory)  # prune proves ownership from the cache


def inventory_from_marks(
    app: Application, found: Iterable[InventoryEntry], *, rendered: Collection[ResourceKey]
) -> list[InventoryEntry]:
    """The app's inventory as the marks on live objects prove it. CreateNamespace marks the namespace
    it creates but never inventories it (it is not pruned); unless Git renders it, it must not come
    back as an inventory entry that prune would then delete."""
    created = ResourceKey("", "Namespace", "", app.spec.destination.namespace or "")
    return [e for e in found if e.key != created or e.key in rendered]


def standings(rt: AppRuntime, conn: ClusterConnection, prepared: Prepared) -> dict[ResourceKey, Standing]:
    """Where each object stands, for free; a drift only in fields ``ignoreDifferences`` names is none.
    Rules naming fields by manager need the managedFields the cache drops: the drift journal
    (``reconcile/drift.py``) reads the full object for those and corrects the standing."""
    rules = ignore_rules(rt)
    found: dict[ResourceKey, Standing] = {}
    for obj, (key, digest) in zip(prepared.objects, prepared.digests.items(), strict=True):
        live = conn.cache.get(key)
        state = standing(obj, live, verdicts=rt.verdicts, digest=digest)
        if state is Standing.DRIFTED and live is not None and _only_ignored(obj, live, key, rules):
            state = Standing.UNCHANGED
        found[key] = state
    return found


def _only_ignored(
    obj: Mapping[str, Any], live: Mapping[str, Any], key: ResourceKey, rules: list[IgnoreRule]
) -> bool:
    matching = [r for r in rules if r.matches(key) and not r.managers]
    if not matching:
        return False
    return not compare_objects(dict(obj), live_projection(obj, live), ignore=matching).changed


async def compare(
    ctx: PipelineContext, rt: AppRuntime, prepared: Prepared, found: Mapping[ResourceKey, Standing]
) -> set[ResourceKey]:
    """Objects out of sync, asking the server (dry-run) only where the standing is unknown."""
    conn = prepared.connection
    out = {k for k, s in found.items() if s in (Standing.MISSING, Standing.DRIFTED)}
    unknown = [o for o in prepared.objects if found.get(ResourceKey.of(o)) is Standing.UNKNOWN]
    if unknown:
        views = await diff_app(
            conn.client,
            unknown,
            app=rt.name,
            live=conn.cache.get,
            ignore=ignore_rules(rt),
            concurrency=ctx.settings.apply_concurrency,
        )
        out |= {v.key for v in views if v.action != "none"}
    return out


def not_yet_owned(rt: AppRuntime, prepared: Prepared) -> list[InventoryEntry]:
    """What a sync may create that the inventory does not list yet: recorded before it is written."""
    owned = {entry.key for entry in rt.inventory}
    return [entry for entry in prepared.inventory if entry.key not in owned]


def stale_pending(rt: AppRuntime, prepared: Prepared) -> list[InventoryEntry]:
    """Owned objects that left Git and are still in the inventory (pruned later, or never)."""
    return stale(rt.inventory, prepared.inventory)
