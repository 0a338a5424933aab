"""Orphaned objects in a pass: listed on the app's status when its Project asks, never touched.

When an app's Project has ``orphanedResources``, each pass of the app (``refresh``):
- makes the cluster cache watch every namespaced kind the cluster serves that can be listed and
  watched, except kinds that are bookkeeping and never a user's object (Events, Endpoints,
  EndpointSlices, Leases); discovery is asked again at most every ``full_resync`` seconds (new CRDs),
  so a pass that finds nothing new still sends no request. The Pods and ReplicaSets this brings
  are not listed (they have owners), but they are held in memory cluster-wide: a project should
  enable it for well-scoped clusters and namespaces, as Argo CD advises;
- lists, from the cache alone (no request), the objects of the app's namespaces (its destination and
  the namespaces of what it owns) that no app manages (``policy/orphans.py``): an object is managed
  when an app of this gitward claims it, it carries a tracking mark naming itself, or it is a hook's
  run. The list goes on the status (``orphanedResources``: count and the first 100), so ``gitward app
  get`` and ``GET /api/v1/apps/NAME`` show it;
- with ``warn`` (the default), puts the ``OrphanedResourceWarning`` condition on the app while some
  exist; Ready, sync and health are not affected.

Such an app's interval pass is never skipped as unchanged (``resync``): what it lists changes without
any change to the app's own objects, so it is looked at again at least every interval.
Deliberately not here: deciding what is orphaned (``policy/orphans.py``); any write.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gitward.cluster.connection import ClusterConnection
from gitward.core.appstatus import mark_orphaned
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import ResourceKey
from gitward.core.logfields import fields
from gitward.core.marks import owner_of
from gitward.plan.hookmarks import HOOK_ANNOTATION
from gitward.policy.orphans import orphaned
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime

log = logging.getLogger("gitward.reconcile")

#: Kinds that are the cluster's bookkeeping, never a user's object: not watched for orphans.
NOT_WATCHED = frozenset(
    {
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("coordination.k8s.io", "Lease"),
    }
)
SHOWN = 100


async def refresh(ctx: PipelineContext, rt: AppRuntime, conn: ClusterConnection) -> None:
    """List the app's orphaned objects on its status, when its Project asks for it."""
    project = ctx.project(rt.app.spec.project)
    settings = project.spec.orphaned_resources if project is not None else None
    rt.lists_orphans = settings is not None
    if project is None or settings is None:
        if rt.status.orphaned is not None:
            rt.status.orphaned = None
            mark_orphaned(rt.status, now=ctx.clock.now(), message="")
        return
    try:
        now = ctx.clock.monotonic()
        if not rt.orphan_kinds_at or now - rt.orphan_kinds_at >= ctx.settings.full_resync:
            await _watch_namespaced_kinds(conn)
            rt.orphan_kinds_at = now
    except GitwardError as err:  # the list waits for the next pass; the app's own work does not
        log.warning("orphaned objects of %s not listed: %s", rt.name, err, extra=fields(app=rt.name))
        return
    namespaces = _namespaces(rt)
    keys = orphaned(
        _objects(conn, namespaces),
        project=project,
        namespaces=namespaces,
        managed=lambda obj: _managed(ctx, obj),
    )
    rows = [{"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name} for k in keys]
    rt.status.orphaned = {"count": len(rows), "resources": rows[:SHOWN]}
    message = _warning(keys, namespaces) if settings.warn and keys else ""
    mark_orphaned(rt.status, now=ctx.clock.now(), message=message)


async def _watch_namespaced_kinds(conn: ClusterConnection) -> None:
    versions: dict[tuple[str, str], str] = {}
    for res in await conn.client.discovery.resources():
        if res.namespaced and {"list", "watch"} <= res.verbs and (res.group, res.kind) not in NOT_WATCHED:
            versions.setdefault((res.group, res.kind), res.api_version)
    for (_, kind), api_version in sorted(versions.items()):
        if conn.cache.is_watched(api_version, kind):
            continue
        try:
            await conn.cache.ensure_watched(api_version, kind)
        except ClusterError as err:
            if err.status not in (403, 404, 405):  # a kind gitward may not list is not listed
                raise


def _namespaces(rt: AppRuntime) -> frozenset[str]:
    found = {entry.key.namespace for entry in rt.inventory if entry.key.namespace}
    if rt.app.spec.destination.namespace:
        found.add(rt.app.spec.destination.namespace)
    return frozenset(found)


def _objects(conn: ClusterConnection, namespaces: frozenset[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for namespace in sorted(namespaces):
        out.extend(conn.cache.objects(namespace=namespace))
    return out


def _managed(ctx: PipelineContext, obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if owner_of(obj) is not None or HOOK_ANNOTATION in annotations:
        return True  # an app's object (of this gitward or another), or a hook's run
    return ctx.claimed_by_other("", ResourceKey.of(obj)) is not None


def _warning(keys: list[ResourceKey], namespaces: frozenset[str]) -> str:
    named = ", ".join(f"{k.kind}/{k.name}" for k in keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    where = ", ".join(sorted(namespaces))
    return f"{len(keys)} orphaned object(s) in namespace(s) {where} (no app manages them): {named}{more}"
