"""Deleting what left Git: the most dangerous thing gitward does, so it proves ownership twice.

An object is deleted only when it is in the stale list (stored inventory minus the new one) *and* its
live object carries a tracking mark naming exactly this app and this object (``core.marks``). A copied
mark names another object and proves nothing (docs/reliability.md, bad input 16); an unmarked or foreign
object is SKIPPED with the reason.

Results: already gone (404) -> DELETED; deletion accepted -> DELETED, with a note when finalizers hold
the object (``awaiting_deletion``: the caller keeps it in the inventory until it is really gone);
refused (admission, RBAC, any API error) -> FAILED, so it stays in the inventory and is retried
(docs/reliability.md, F4). Order is the reverse of apply: dependents first, CRDs and Namespaces last.
Deliberately not here: deciding what is stale (``plan``) and the empty-render guard (the caller's).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitward.apply._messages import safe_message
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.errors import GitwardError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.kinds import apply_order
from gitward.core.marks import is_owned_by, owner_of

LiveLookup = Callable[[ResourceKey], Mapping[str, Any] | None]


def prune_order(stale: Sequence[InventoryEntry]) -> list[list[InventoryEntry]]:
    """Groups in deletion order: reverse apply order, one group per (stage, kind rank)."""
    ordered = sorted(stale, key=lambda e: apply_order(e.key), reverse=True)
    return [list(g) for _, g in itertools.groupby(ordered, key=lambda e: apply_order(e.key)[:2])]


_WAITING_FOR_FINALIZERS = "deletion requested; waiting for finalizers"
_DELETION_IN_PROGRESS = "deletion in progress"


def _finalizer_note(obj: Mapping[str, Any]) -> str:
    finalizers = (obj.get("metadata") or {}).get("finalizers") or []
    if not finalizers:
        return ""
    return f"{_WAITING_FOR_FINALIZERS}: {', '.join(str(f) for f in finalizers)}"


def awaiting_deletion(change: Change) -> bool:
    """A delete the API accepted whose object still exists because finalizers run first.

    Forgetting it now would leave a marked object nobody tracks if a finalizer never completes
    (docs/reliability.md, F4), so it stays owned until a later pass finds it gone.
    """
    return change.action is Action.DELETED and change.message.startswith(
        (_WAITING_FOR_FINALIZERS, _DELETION_IN_PROGRESS)
    )


def _not_owned_reason(obj: Mapping[str, Any], app: str) -> str:
    owner = owner_of(obj)
    if owner is None:
        return f"not pruned: the live object carries no tracking mark naming it for app {app!r}"
    return f"not pruned: the live object is owned by app {owner!r}, not {app!r}"


async def _current(client: KubeClient, entry: InventoryEntry, live: LiveLookup) -> Mapping[str, Any] | None:
    """The cached object, or a fresh read: a kind no longer rendered may not be watched any more."""
    cached = live(entry.key)
    if cached is not None:
        return cached
    k = entry.key
    return await client.get(entry.api_version, k.kind, k.namespace, k.name)


async def prune_one(
    client: KubeClient, entry: InventoryEntry, *, app: str, live: LiveLookup, propagation: str = "Foreground"
) -> Change:
    """Delete one stale object if, and only if, it is provably ours."""
    k = entry.key
    try:
        obj = await _current(client, entry, live)
        if obj is None:
            return Change(k, Action.DELETED, entry.version, "already gone")
        if not is_owned_by(obj, app):
            return Change(k, Action.SKIPPED, entry.version, _not_owned_reason(obj, app))
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            # Asking again would be a write that changes nothing; the finalizers decide now.
            return Change(k, Action.DELETED, entry.version, _finalizer_note(obj) or _DELETION_IN_PROGRESS)
        existed = await client.delete(entry.api_version, k.kind, k.namespace, k.name, propagation=propagation)
    except GitwardError as error:
        return Change(k, Action.FAILED, entry.version, safe_message(error, {"kind": k.kind}))
    if not existed:
        return Change(k, Action.DELETED, entry.version, "already gone")
    return Change(k, Action.DELETED, entry.version, _finalizer_note(obj))


async def prune(
    client: KubeClient,
    stale: Sequence[InventoryEntry],
    *,
    app: str,
    live: LiveLookup,
    concurrency: int = 8,
    propagation: str = "Foreground",
) -> ChangeSet:
    """Delete the stale objects ``app`` provably owns, dependents first; one result per entry.

    ``propagation`` is the app's ``PrunePropagationPolicy`` (``Foreground`` unless it says otherwise,
    as in Argo CD): with Foreground the API server deletes the dependents (a Deployment's ReplicaSets
    and Pods) before the object itself.
    """
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(entry: InventoryEntry) -> Change:
        async with limit:
            return await prune_one(client, entry, app=app, live=live, propagation=propagation)

    changes: list[Change] = []
    for group in prune_order(stale):
        changes.extend(await asyncio.gather(*(one(e) for e in group)))
    return ChangeSet.of(changes)
