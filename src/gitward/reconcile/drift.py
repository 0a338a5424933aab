"""The drift journal: one Drift event per out-of-band change, naming the fields and who changed them.

The watch-fed cache says *that* an object may have drifted (``pipeline.standings``); it never says
*what* drifted or *who* did it. The cache lags behind gitward's own writes (a heal's watch event is
still on its way when the next pass starts), and since the client hands each write's answer to the
cache, it may also be ahead of watch events about older changes that arrive after the answer. A
journal built on the cache would report gitward's own heal as drift, or heal twice.

So for every object the cache shows drifted, the journal reads the full object once (with its
managedFields; the cache drops them) and decides from that alone (``diff.drift.drift_of``):
- nothing differs from Git (or only fields the app's ignore rules name): the cache was behind or
  ahead, the object is unchanged for this pass, nothing is written or reported, and the verdict
  takes the object's resourceVersion so its watch event is recognised as nothing new;
- fields differ that gitward's own field manager owns: gitward wrote them (never drift); they are
  healed with the rest but not reported;
- fields differ that another manager owns (or nobody: a removed field): that is drift, reported once
  per resourceVersion of the full object, however many passes see it.
The full read is remembered per (cached resourceVersion, verdict resourceVersion), so passes that see
the same copies again (an app woken by status updates while it stays OutOfSync) read nothing.

Deliberately not here: the comparison itself (``diff/drift.py``), fights (``fights.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from gitward.apply import Standing
from gitward.cluster.connection import ClusterConnection
from gitward.core.keys import ResourceKey
from gitward.core.marks import FIELD_MANAGER
from gitward.diff import IgnoreRule, is_subset
from gitward.diff.drift import Drift, drift_of
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime

_DELETED = "deleted"


def ignore_rules(rt: AppRuntime) -> list[IgnoreRule]:
    """The app's ``ignoreDifferences`` as rules ``diff`` applies (validated when the config loaded)."""
    return [
        IgnoreRule.from_dict(
            {
                "group": r.group,
                "kind": r.kind,
                "name": r.name or "",
                "namespace": r.namespace or "",
                "jsonPointers": r.json_pointers,
                "jqPathExpressions": r.jq_path_expressions,
                "managedFieldsManagers": r.managed_fields_managers,
            }
        )
        for r in rt.app.spec.ignore_differences
    ]


async def examine(
    ctx: PipelineContext,
    rt: AppRuntime,
    conn: ClusterConnection,
    objects: Sequence[Mapping[str, Any]],
    digests: Mapping[ResourceKey, str],
    found: MutableMapping[ResourceKey, Standing],
) -> dict[ResourceKey, Drift]:
    """Decide each drift the cache suggests from the full object; record one event per out-of-band
    change; correct ``found`` where nothing drifted. Returns what did drift, by object."""
    rules = ignore_rules(rt)
    drifted: dict[ResourceKey, Drift] = {}
    for obj, (key, digest) in zip(objects, digests.items(), strict=True):
        state = found.get(key)
        if state is Standing.MISSING:
            _report_deleted(ctx, rt, key)
        if state is not Standing.DRIFTED:
            continue
        read = await _read(rt, conn, obj, key, digest, rules)
        if read is None:
            continue  # gone since the cache saw it: the next pass finds it missing
        drift, version = read
        if not drift.found and not drift.own:
            found[key] = Standing.UNCHANGED  # the cache was behind or ahead of the server: no drift
            continue
        drifted[key] = drift
        if drift.found and rt.reported_drift.get(key) != version:
            rt.reported_drift[key] = version
            _report(ctx, rt, key, drift)
    rt.drifted = drifted
    return drifted


async def _read(
    rt: AppRuntime,
    conn: ClusterConnection,
    obj: Mapping[str, Any],
    key: ResourceKey,
    digest: str,
    rules: Sequence[IgnoreRule],
) -> tuple[Drift, str] | None:
    """The drift of the object as the server has it now, and that copy's resourceVersion."""
    cached = resource_version(conn.cache.get(key))
    verdict = rt.verdicts.get(key)
    own_version = verdict.resource_version if verdict is not None else ""
    seen = rt.drift_read.get(key)
    if seen is not None and seen[:2] == (cached, own_version):
        return seen[2], seen[3]
    full = await conn.client.get(str(obj["apiVersion"]), key.kind, key.namespace, key.name)
    if full is None:
        rt.drift_read.pop(key, None)
        return None
    version = resource_version(full)
    drift = drift_of(obj, full, ignore=rules, own=FIELD_MANAGER)
    as_applied = verdict is not None and verdict.digest == digest and is_subset(obj, full)
    if not drift.found and not drift.own and as_applied:  # its watch event will be nothing new
        rt.verdicts.record(key, digest=digest, resource_version=version)
        own_version = version
    rt.drift_read[key] = (cached, own_version, drift, version)
    if len(rt.drift_read) > 4 * max(len(rt.inventory), 16):
        rt.drift_read = {k: v for k, v in rt.drift_read.items() if k == key}
    return drift, version


def resource_version(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _report(ctx: PipelineContext, rt: AppRuntime, key: ResourceKey, drift: Drift) -> None:
    managers = drift.who()
    who = f" by {', '.join(managers)}" if managers else ""
    ctx.record_event(
        rt.name,
        type="Warning",
        reason="Drift",
        message=f"{key} changed out of band{who}: {', '.join(drift.paths)}",
        object_id=key.id,
        fields=list(drift.paths),
        manager=", ".join(managers),
    )


def _report_deleted(ctx: PipelineContext, rt: AppRuntime, key: ResourceKey) -> None:
    """An object gitward had applied (it has a verdict) is gone: once per disappearance."""
    if rt.verdicts.get(key) is None or rt.reported_drift.get(key) == _DELETED:
        return
    rt.reported_drift[key] = _DELETED
    ctx.record_event(
        rt.name,
        type="Warning",
        reason="Drift",
        message=f"{key} was deleted out of band",
        object_id=key.id,
    )
