"""Applying the ordinary objects of a plan step in stages: Namespaces and CRDs, then the rest by kind.

The order comes from the sync plan (``plan.syncplan``), decided there and nowhere else; this module
only runs a step's objects. Stage 1 applies its Namespaces and CRDs and waits until every CRD it
wrote is Established and served by discovery; stage 2 applies the rest kind group by kind group (a
LimitRange before the Pods it defaults), objects of one group in parallel up to ``concurrency``. Each
object goes through ``objects.apply_object``, which sends nothing for objects that cannot have drifted.

A failed object does not stop the others of its group, but a failed Namespace or CRD stops stage 2
(reported SKIPPED). A CRD that does not become ready in time raises ``CrdNotReady`` (a ``Waiting``)
carrying what was already done. ``apply_staged`` runs the Sync steps of a list of manifests one
after the other, without hooks or health waits: the executor's core for tools and tests.
Deliberately not here: hooks, waits between waves, pruning (``executor``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from gitward.apply.objects import ObjectApply, apply_object
from gitward.apply.verdicts import VerdictCache
from gitward.cluster.client import KubeClient
from gitward.core.changes import Action, Change, ChangeSet
from gitward.core.errors import ClusterError, Waiting
from gitward.core.keys import ResourceKey, version_of
from gitward.core.kinds import apply_order, is_first_stage
from gitward.core.marks import with_marks
from gitward.plan import PlannedObject, build_plan

LiveLookup = Callable[[ResourceKey], Mapping[str, Any] | None]

CRD_API_VERSION = "apiextensions.k8s.io/v1"


class CrdNotReady(Waiting):
    """CRDs were applied but are not Established or served yet; ``changes`` is what was done so far."""

    reason = "CustomResourceDefinitionNotReady"

    def __init__(self, message: str, *, changes: ChangeSet, retry_after: float = 5.0) -> None:
        super().__init__(message, retry_after=retry_after)
        self.changes = changes


async def _apply_group(
    ctx: ObjectApply, group: Sequence[PlannedObject], *, limit: asyncio.Semaphore
) -> list[Change]:
    async def one(obj: PlannedObject) -> Change:
        async with limit:
            return await apply_object(ctx, obj)

    return list(await asyncio.gather(*(one(obj) for obj in group)))


def skipped(objs: Iterable[PlannedObject], why: str) -> list[Change]:
    return [Change(o.key, Action.SKIPPED, version_of(o.api_version), why) for o in objs]


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


async def apply_objects(
    ctx: ObjectApply,
    objects: Sequence[PlannedObject],
    *,
    concurrency: int = 8,
    crd_timeout: float = 60.0,
) -> list[Change]:
    """One step's ordinary objects (plan order, manifests marked), stage 1 then stage 2 by kind group."""
    limit = asyncio.Semaphore(max(1, concurrency))
    first = [o for o in objects if is_first_stage(o.key)]
    rest = [o for o in objects if not is_first_stage(o.key)]
    changes = await _apply_group(ctx, first, limit=limit)
    written = {c.key for c in changes if c.action in (Action.CREATED, Action.CONFIGURED)}
    crds = [o.manifest for o in first if o.key.kind == "CustomResourceDefinition" and o.key in written]
    if crds:
        not_ready = await wait_crds_ready(ctx.client, crds, timeout=crd_timeout)
        if not_ready:
            raise CrdNotReady(
                f"CustomResourceDefinition not established after {crd_timeout:g}s: {', '.join(not_ready)}",
                changes=ChangeSet.of(changes),
            )
    if any(c.action.is_failure for c in changes):
        return changes + skipped(rest, "not applied: a Namespace or CRD failed")
    for _, group in itertools.groupby(rest, key=lambda o: apply_order(o.key)[:2]):
        changes += await _apply_group(ctx, list(group), limit=limit)
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
    """Mark ``manifests`` and apply the Sync steps of their plan in order; only what drifted is sent.

    A failed step stops the later ones (their objects are reported SKIPPED). Hooks are not run here.
    """
    plan = build_plan([with_marks(dict(m), app) for m in manifests])
    ctx = ObjectApply(client=client, app=app, live=live, verdicts=verdicts, force=force)
    changes: list[Change] = []
    blocked = ""
    for step in plan.main_steps:
        objects = [o for o in step.objects if not o.hook]
        if blocked:
            changes += skipped(objects, blocked)
            continue
        changes += await apply_objects(ctx, objects, concurrency=concurrency, crd_timeout=crd_timeout)
        if any(c.action.is_failure for c in changes):
            blocked = f"not applied: sync wave {step.wave} failed"
    return ChangeSet.of(changes)
