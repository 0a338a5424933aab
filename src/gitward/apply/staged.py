"""Staged server-side apply of an app's manifests: the ``apply`` step of a reconcile.

Every manifest is marked (tracking annotation and managed-by label) and applied with ``ssa.apply_one``,
which sends nothing for objects that cannot have drifted. Stage 1 applies Namespaces and CRDs and waits
until every CRD it wrote is Established and served by discovery; stage 2 applies the rest wave by wave,
kind group by kind group, objects of one group in parallel up to ``concurrency``.

A failed object does not stop the others of its group, but it stops later waves (they may depend on
it): those are reported SKIPPED. A CRD that does not become ready in time raises ``CrdNotReady`` (a
``Waiting``) carrying what was already done. Deliberately not here: pruning, health waits, hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from gitward.apply._order import Manifest, split_stages, waves
from gitward.apply.ssa import apply_one
from gitward.apply.verdicts import VerdictCache
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.errors import ClusterError, Waiting
from gitward.core.keys import ResourceKey, version_of
from gitward.core.marks import with_marks

LiveLookup = Callable[[ResourceKey], Mapping[str, Any] | None]

CRD_API_VERSION = "apiextensions.k8s.io/v1"


class CrdNotReady(Waiting):
    """CRDs were applied but are not Established or served yet; ``changes`` is what was done so far."""

    reason = "CustomResourceDefinitionNotReady"

    def __init__(self, message: str, *, changes: ChangeSet, retry_after: float = 5.0) -> None:
        super().__init__(message, retry_after=retry_after)
        self.changes = changes


async def _apply_group(
    client: KubeClient,
    group: Sequence[Manifest],
    *,
    live: LiveLookup,
    verdicts: VerdictCache,
    force: bool,
    limit: asyncio.Semaphore,
) -> list[Change]:
    async def one(obj: Manifest) -> Change:
        async with limit:
            return await apply_one(
                client, obj, live=live(ResourceKey.of(obj)), verdicts=verdicts, force=force
            )

    return list(await asyncio.gather(*(one(obj) for obj in group)))


def _skipped(objs: Iterable[Manifest], why: str) -> list[Change]:
    return [
        Change(ResourceKey.of(o), Action.SKIPPED, version_of(str(o.get("apiVersion", ""))), why) for o in objs
    ]


def _is_established(crd: Mapping[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


async def _crd_ready(client: KubeClient, crd: Mapping[str, Any]) -> bool:
    """Established in its status and every served version resolvable through discovery."""
    name = str((crd.get("metadata") or {}).get("name", ""))
    current = await client.get(CRD_API_VERSION, "CustomResourceDefinition", "", name)
    if current is None or not _is_established(current):
        return False
    spec = current.get("spec") or {}
    kind = str((spec.get("names") or {}).get("kind", ""))
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        try:
            await client.resource_for(f"{spec.get('group')}/{version.get('name')}", kind)
        except ClusterError as error:
            if error.status == 404:
                return False
            raise
    return True


# A deadline, not a cancellation: the caller needs the names still pending, so asyncio.timeout won't do.
async def wait_crds_ready(
    client: KubeClient,
    crds: Sequence[Mapping[str, Any]],
    *,
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.5,
) -> list[str]:
    """Poll until every CRD is ready or ``timeout`` seconds pass; returns the names still not ready."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = list(crds)
    while True:
        pending = [crd for crd in pending if not await _crd_ready(client, crd)]
        if not pending or loop.time() >= deadline:
            return [str((c.get("metadata") or {}).get("name", "")) for c in pending]
        await asyncio.sleep(interval)


async def _stage_one(
    client: KubeClient,
    first: Sequence[Manifest],
    *,
    live: LiveLookup,
    verdicts: VerdictCache,
    force: bool,
    limit: asyncio.Semaphore,
    crd_timeout: float,
) -> list[Change]:
    changes = await _apply_group(client, first, live=live, verdicts=verdicts, force=force, limit=limit)
    written = {c.key for c in changes if c.action in (Action.CREATED, Action.CONFIGURED)}
    crds = [o for o in first if o.get("kind") == "CustomResourceDefinition" and ResourceKey.of(o) in written]
    if crds:
        not_ready = await wait_crds_ready(client, crds, timeout=crd_timeout)
        if not_ready:
            raise CrdNotReady(
                f"CustomResourceDefinition not established after {crd_timeout:g}s: {', '.join(not_ready)}",
                changes=ChangeSet.of(changes),
            )
    return changes


async def apply_staged(
    client: KubeClient,
    manifests: Iterable[Mapping[str, Any]],
    *,
    app: str,
    live: LiveLookup,
    verdicts: VerdictCache,
    force: bool = False,
    concurrency: int = 8,
    crd_timeout: float = 60.0,
) -> ChangeSet:
    """Mark and apply ``manifests`` in stages and waves; only what drifted is sent to the API."""
    marked = [with_marks(dict(m), app) for m in manifests]
    first, rest = split_stages(marked)
    limit = asyncio.Semaphore(max(1, concurrency))
    changes = await _stage_one(
        client, first, live=live, verdicts=verdicts, force=force, limit=limit, crd_timeout=crd_timeout
    )
    blocked = (
        "" if not any(c.action.is_failure for c in changes) else "not applied: a Namespace or CRD failed"
    )
    for wave, groups in waves(rest):
        if blocked:
            changes += _skipped((o for g in groups for o in g), blocked)
            continue
        for group in groups:
            changes += await _apply_group(
                client, group, live=live, verdicts=verdicts, force=force, limit=limit
            )
        if any(c.action.is_failure for c in changes):
            blocked = f"not applied: sync wave {wave} failed"
    return ChangeSet.of(changes)
