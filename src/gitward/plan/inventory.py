"""Inventory set maths: what an app owns after a sync, and what is stale and may be pruned.

Entries are compared by key only: the same object moving from ``v1beta1`` to ``v1`` is the same
object and must not be pruned. Stale entries come in reverse apply order so dependents are deleted
before what they depend on (a Deployment before its Namespace, a custom resource before its CRD).

Deliberately not here: the owner-mark check that must also pass before a delete (apply/ uses
``core.marks``), and storing the inventory (store/).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitward.core.keys import InventoryEntry
from gitward.core.kinds import apply_order
from gitward.plan.hooks import hook_of


def _order(entry: InventoryEntry) -> tuple[tuple[int, int, str, str, str], str]:
    return (apply_order(entry.key), entry.version)


def inventory_of(manifests: Iterable[dict[str, Any]], *, include_hooks: bool = False) -> list[InventoryEntry]:
    """The inventory a set of manifests yields, in apply order, one entry per key.

    Hooks are left out by default: their lifetime is governed by their delete policy, not by
    prune, and a PreSync Job deleted after success must not look like drift.
    """
    by_key = {}
    for obj in manifests:
        if not include_hooks and hook_of(obj) is not None:
            continue
        entry = InventoryEntry.of(obj)
        by_key[entry.key] = entry
    return sorted(by_key.values(), key=_order)


def stale(old: Iterable[InventoryEntry], new: Iterable[InventoryEntry]) -> list[InventoryEntry]:
    """Entries of ``old`` whose key is not in ``new``, in reverse apply order (dependents first)."""
    keep = {e.key for e in new}
    gone = {e.key: e for e in old if e.key not in keep}
    return sorted(gone.values(), key=_order, reverse=True)


def merge_failed(new: Iterable[InventoryEntry], failed: Iterable[InventoryEntry]) -> list[InventoryEntry]:
    """``new`` plus stale entries whose delete failed, so they stay owned and are retried.

    Without this a refused delete (a finalizer, an admission webhook) would drop the object from the
    inventory and it would be orphaned forever (docs/reliability.md, fault F4).
    """
    by_key = {e.key: e for e in failed}
    by_key.update({e.key: e for e in new})  # the new entry's version wins
    return sorted(by_key.values(), key=_order)
