"""Rebuilding an app's inventory from the cluster when the state database is lost (docs/reliability.md, F9).

Objects of the given kinds carrying gitward's managed-by label are listed, and only those whose
tracking mark names this app *and themselves* are kept — a copied mark names another object, so it
never lands in the inventory and can never be pruned. Kinds the server does not serve (404) are
skipped; any other failure raises, because an incomplete inventory must not look complete.

Deliberately not here: choosing the kinds (the caller passes what the app renders plus what discovery
lists) and objects whose managed-by label was overridden by the manifest (``with_marks`` keeps a
label the user set, so such objects are found only by listing without the selector).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from gitward.cluster.client import ApiResource, KubeClient
from gitward.core.errors import ClusterError
from gitward.core.keys import InventoryEntry
from gitward.core.marks import MANAGED_BY_LABEL, MANAGED_BY_VALUE, owner_of

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
SCAN_CONCURRENCY = 8  # kinds listed at once by ``marked_inventories``


async def rebuild_inventory(
    client: KubeClient, kinds: Iterable[ApiResource | tuple[str, str]], *, app: str
) -> list[InventoryEntry]:
    """Sorted inventory entries of every live object of ``kinds`` that ``app`` provably owns."""
    return (await marked_inventories(client, kinds)).get(app, [])


async def marked_inventories(
    client: KubeClient, kinds: Iterable[ApiResource | tuple[str, str]], *, concurrency: int = SCAN_CONCURRENCY
) -> dict[str, list[InventoryEntry]]:
    """Every app's provable objects among ``kinds``, in one listing per kind for all apps at once.

    The same proof as ``rebuild_inventory`` (the mark must name the object itself), grouped by the
    app the mark names, so rebuilding many apps after a lost database costs one scan, not one per app.
    Up to ``concurrency`` kinds are listed at once: a fresh state database makes every app's first
    pass wait for this scan, and one listing after the other made that wait grow with the number
    of kinds the cluster serves. When listings fail, the first failing kind (in the given order)
    is raised, after the others have ended.
    """
    wanted = [(k.api_version, k.kind) if isinstance(k, ApiResource) else k for k in kinds]
    limit = asyncio.Semaphore(concurrency)

    async def listed(api_version: str, name: str) -> list[dict[str, Any]]:
        async with limit:
            try:
                objects, _ = await client.list(api_version, name, label_selector=MANAGED_SELECTOR)
            except ClusterError as error:
                if error.status == 404:
                    return []
                raise
        for obj in objects:
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", name)
        return objects

    results = await asyncio.gather(*(listed(*kind) for kind in wanted), return_exceptions=True)
    found: dict[str, set[InventoryEntry]] = {}
    for result in results:
        if isinstance(result, BaseException):
            raise result
        for obj in result:
            owner = owner_of(obj)
            if owner is not None:
                found.setdefault(owner, set()).add(InventoryEntry.of(obj))
    return {app: sorted(entries) for app, entries in found.items()}
