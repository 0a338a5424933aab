"""``gitward app sync NAME --dry-run``: the plan a sync would run, in order, and what each step would
change, with no write of any kind.

The render is fetched, rendered, validated and planned exactly as for a sync (``pipeline.prepare``,
``execution.sync_plan``), so a dry run refuses what the sync would refuse. Then each object's standing
is read for free from the verdict memory and the watch cache (``apply.standing``) and the server is
asked only where that cannot answer: an object that exists and may have changed gets a server-side
dry-run (``apply.diff_app``); a missing object is shown as created from its manifest, an unchanged
one needs nothing. Deletions show the live object; hooks show when they would run and how they are
deleted; skipped objects say why. Diffs are masked (no Secret value appears).

The answer: ``{app, revision, commit, planDigest, steps: [{index, phase, wave, name, objects:
[{id, group, kind, namespace, name, action, hook, diff, message}], prunes: [...]}], skipped: [...]}``;
``action`` is ``create``, ``configure``, ``unchanged``, ``prune`` or ``hook``.

Deliberately not here: anything that writes (the operation record, the inventory, the status).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.apply import Standing, diff_app
from gitward.apply.executor import where
from gitward.cluster.connection import ClusterConnection
from gitward.core.keys import ResourceKey
from gitward.core.marks import is_owned_by
from gitward.diff.unified import unified_diff
from gitward.plan import PlannedObject, Step
from gitward.reconcile import execution, pipeline
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime, SyncRequest

_ACTIONS = {"create": "create", "update": "configure", "none": "unchanged", "delete": "prune"}


async def dry_run(ctx: PipelineContext, rt: AppRuntime, req: SyncRequest) -> dict[str, Any]:
    """The sync ``req`` would run, step by step; raises what the sync would raise before writing."""
    prepared = await pipeline.prepare(ctx, rt, req)
    conn = prepared.connection
    await pipeline.watch_kinds(conn, prepared.manifests, rt.inventory)
    plan = await execution.sync_plan(ctx, rt, prepared, req)
    found = pipeline.standings(rt, conn, prepared)
    asked = await _server_views(ctx, rt, prepared, found)
    steps = []
    for step in plan.main_steps:
        steps.append(
            {
                "index": step.index,
                "phase": str(step.phase),
                "wave": step.wave,
                "name": where(step),
                "objects": [_object(o, found, asked, conn) for o in step.objects],
                "prunes": [_prune(o, conn, rt.name) for o in step.prunes],
            }
        )
    steps += [_fail_step(step) for step in plan.fail_steps]
    return {
        "app": rt.name,
        "revision": prepared.desired.revision,
        "commit": prepared.desired.commit,
        "planDigest": plan.digest,
        "steps": steps,
        "skipped": [{**_ids(s.key), "reason": str(s.reason), "message": s.message} for s in plan.skipped],
    }


async def _server_views(
    ctx: PipelineContext,
    rt: AppRuntime,
    prepared: pipeline.Prepared,
    found: Mapping[ResourceKey, Standing],
) -> dict[ResourceKey, dict[str, Any]]:
    """Server-side dry-runs, only for objects that exist and whose standing the cache cannot tell."""
    asking = [
        o for o in prepared.objects if found.get(ResourceKey.of(o)) in (Standing.UNKNOWN, Standing.DRIFTED)
    ]
    if not asking:
        return {}
    conn = prepared.connection
    views = await diff_app(
        conn.client,
        asking,
        app=rt.name,
        live=conn.cache.get,
        ignore=pipeline.ignore_rules(rt),
        concurrency=ctx.settings.apply_concurrency,
    )
    return {v.key: {"action": _ACTIONS[v.action], "diff": v.diff, "message": v.message} for v in views}


def _ids(key: ResourceKey) -> dict[str, str]:
    return {"id": key.id, "group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def _object(
    obj: PlannedObject,
    found: Mapping[ResourceKey, Standing],
    asked: Mapping[ResourceKey, dict[str, Any]],
    conn: ClusterConnection,
) -> dict[str, Any]:
    if obj.hook:
        return {**_ids(obj.key), "action": "hook", "hook": True, "diff": "", "message": _hook_note(obj)}
    out: dict[str, Any] = {**_ids(obj.key), "hook": False, "diff": "", "message": ""}
    standing = found.get(obj.key)
    if obj.key in asked:
        return {**out, **asked[obj.key]}
    if standing is Standing.MISSING:
        return {**out, "action": "create", "diff": unified_diff(obj.key, obj.manifest, None)}
    return {**out, "action": "unchanged"}


def _hook_note(obj: PlannedObject) -> str:
    named = "a new run named by the server" if obj.generate_name else "a new run"
    policies = ", ".join(str(p) for p in obj.delete_policies) or "none"
    return f"created as {named}, waited for; delete policy: {policies}"


def _prune(obj: PlannedObject, conn: ClusterConnection, app: str) -> dict[str, Any]:
    live = conn.cache.get(obj.key)
    out: dict[str, Any] = {**_ids(obj.key), "action": "prune", "hook": False, "diff": "", "message": ""}
    if live is None:
        return {**out, "message": "already gone"}
    if not is_owned_by(live, app):
        return {**out, "message": "will not be pruned: no tracking mark naming it for this app"}
    return {**out, "diff": unified_diff(obj.key, None, live)}


def _fail_step(step: Step) -> dict[str, Any]:
    hooks: Sequence[PlannedObject] = step.hooks
    return {
        "index": step.index,
        "phase": str(step.phase),
        "wave": step.wave,
        "name": f"{where(step)} wave {step.wave} (only if the sync fails)",
        "objects": [
            {**_ids(h.key), "action": "hook", "hook": True, "diff": "", "message": _hook_note(h)}
            for h in hooks
        ],
        "prunes": [],
    }
