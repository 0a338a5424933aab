"""Releasing objects an app leaves behind (deletion policy ``orphan``): its ownership marks removed.

The objects stay as they are; only gitward's tracking annotation (and the managed-by label when it
says ``gitward``) are taken off, so any app may adopt them later. Each release is one JSON patch whose
``test`` operations make the API server check, inside the same request, that the mark still names
this app and this object: an object another app took meanwhile is never touched (the server answers
422 and nothing changes). An object whose live mark does not name the app is skipped with the reason,
as prune skips it.

Deliberately not here: deciding which app left and when (``reconcile/removal.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from gitward.apply._messages import safe_message
from gitward.apply.prune import prune_order
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import InventoryEntry
from gitward.core.marks import MANAGED_BY_LABEL, MANAGED_BY_VALUE, TRACKING_ANNOTATION, owner_of

RELEASED = "released: ownership marks removed, object kept"


def _pointer(*tokens: str) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def release_patch(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch that removes the marks of ``obj`` only if they are still what was seen."""
    meta = obj.get("metadata") or {}
    annotation = _pointer("metadata", "annotations", TRACKING_ANNOTATION)
    mark = (meta.get("annotations") or {}).get(TRACKING_ANNOTATION)
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": annotation, "value": mark},
        {"op": "remove", "path": annotation},
    ]
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        label = _pointer("metadata", "labels", MANAGED_BY_LABEL)
        ops += [{"op": "test", "path": label, "value": MANAGED_BY_VALUE}, {"op": "remove", "path": label}]
    return ops


def _not_ours(obj: Mapping[str, Any], app: str) -> str:
    owner = owner_of(obj)
    if owner is None:
        return "not released: the live object carries no mark naming it for this app"
    return f"not released: the live object is owned by app {owner!r}, not {app!r}"


async def release_one(client: KubeClient, entry: InventoryEntry, *, app: str) -> Change:
    """Remove the marks of one object if, and only if, its live mark names ``app`` and this object."""
    k = entry.key
    try:
        obj = await client.get(entry.api_version, k.kind, k.namespace, k.name)
        if obj is None:
            return Change(k, Action.UNCHANGED, entry.version, "already gone")
        if owner_of(obj) != app:
            return Change(k, Action.SKIPPED, entry.version, _not_ours(obj, app))
        try:
            await client.patch(
                entry.api_version, k.kind, k.namespace, k.name, release_patch(obj), patch_type="json"
            )
        except ClusterError as error:
            if error.status not in (404, 409, 422):
                raise
            again = await client.get(entry.api_version, k.kind, k.namespace, k.name)
            if again is None:
                return Change(k, Action.UNCHANGED, entry.version, "already gone")
            if owner_of(again) != app:
                return Change(k, Action.SKIPPED, entry.version, _not_ours(again, app))
            raise
    except GitwardError as error:
        return Change(k, Action.FAILED, entry.version, safe_message(error, {"kind": k.kind}))
    return Change(k, Action.CONFIGURED, entry.version, RELEASED)


async def release(
    client: KubeClient, entries: Sequence[InventoryEntry], *, app: str, concurrency: int = 8
) -> ChangeSet:
    """Release every object of ``entries`` that ``app`` provably owns; one result per entry."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(entry: InventoryEntry) -> Change:
        async with limit:
            return await release_one(client, entry, app=app)

    changes: list[Change] = []
    for group in prune_order(entries):
        changes.extend(await asyncio.gather(*(one(e) for e in group)))
    return ChangeSet.of(changes)
