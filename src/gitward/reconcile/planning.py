"""The sync plan of one reconcile: checked with the render before any write, completed when a sync runs.

``render_plan`` runs in ``pipeline.prepare`` on every new render, so a bad hook, wave or sync-option
annotation, two objects under one identity, or an object of a kind the cluster does not serve stops the
sync before the first write, like any other render error. Its inventory (``plan.inventory_objects``:
every ordinary object, hooks and Skip hooks left out) is the app's inventory.

``sync_plan`` adds the deletions when a sync runs and prunes: the stale inventory entries, placed by
their live objects' waves and options (an entry whose object is gone takes its stand-in from the
interrupted operation's stored plan, so a resumed sync rebuilds exactly the plan it was running).

SkipDryRunOnMissingResource: Argo CD fails a sync before any apply when an object's kind is not served
(its dry-run cannot run). Gitward refuses such a render the same way, unless the object's kind is
defined by a CustomResourceDefinition of the same render (applied first, then waited for) or the
option is set, app-wide or on the object: then it is applied in its wave, and fails there if the kind
is still not served (an operator installed by an earlier wave may register it meanwhile).

Deliberately not here: running the plan (``apply.executor``) and the operation record (``operation``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitward.cluster.connection import ClusterConnection
from gitward.core.errors import ValidationError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import with_marks
from gitward.model.foreign import foreign_refusal
from gitward.model.syncpolicy import SyncPolicy
from gitward.plan import SyncPlan, build_plan, hook_of, object_defaults, prune_stand_ins
from gitward.plan.annotations import COMPARE_OPTION_ANNOTATIONS

Scopes = Mapping[tuple[str, str], bool | None]


def planned_manifests(objects: Iterable[dict[str, Any]], *, app: str) -> list[dict[str, Any]]:
    """Ordinary objects marked as the app's; hooks as rendered (they are never the app's objects)."""
    return [obj if hook_of(obj) is not None else with_marks(dict(obj), app) for obj in objects]


def render_plan(
    manifests: Sequence[Mapping[str, Any]],
    policy: SyncPolicy,
    *,
    prune: Iterable[Mapping[str, Any]] = (),
) -> SyncPlan:
    """The plan of ``manifests`` with the app's options; raises ``ValidationError`` for what the plan
    refuses (bad annotations, an object planned twice)."""
    return build_plan(
        manifests,
        prune=prune,
        defaults=object_defaults(policy.parsed_options),
        prune_last=policy.prune_last,
    )


def check_served(plan: SyncPlan, scopes: Scopes) -> None:
    """Refuse objects whose kind nobody serves or defines, unless SkipDryRunOnMissingResource."""
    missing: dict[str, None] = {}
    unserved: list[tuple[str, str, str]] = []
    for step in plan.steps:
        for obj in step.objects:
            if obj.options.skip_dry_run_on_missing_resource:
                continue
            if scopes.get((obj.key.group, obj.key.kind), False) is None:
                missing[f"{obj.key} (kind {obj.key.kind} in apiVersion {obj.api_version})"] = None
                unserved.append((obj.api_version, obj.key.kind, obj.key.name))
    foreign = foreign_refusal(unserved)  # an Argo CD or Flux object: say what it is
    if foreign is not None:
        raise foreign
    if missing:
        shown = ", ".join(list(missing)[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValidationError(
            f"the cluster does not serve the kind of {shown}, and no CustomResourceDefinition of this app "
            "defines it; nothing is applied (set the sync option SkipDryRunOnMissingResource=true, on the "
            "app or the object, when something else installs it before its wave)",
            reason="KindNotServed",
        )


async def sync_plan(
    conn: ClusterConnection,
    manifests: Sequence[Mapping[str, Any]],
    policy: SyncPolicy,
    *,
    stale: Sequence[InventoryEntry],
    stored: SyncPlan | None,
) -> SyncPlan:
    """The plan with the deletions of ``stale`` (pass none when the sync does not prune)."""
    if not stale:
        return render_plan(manifests, policy)
    stand_ins = prune_stand_ins(stored) if stored is not None else {}
    doomed = [await _live_or_stand_in(conn, entry, stand_ins) for entry in stale]
    return render_plan(manifests, policy, prune=doomed)


async def _live_or_stand_in(
    conn: ClusterConnection, entry: InventoryEntry, stand_ins: Mapping[ResourceKey, dict[str, Any]]
) -> Mapping[str, Any]:
    """The live object (its wave and options place the deletion); when gone, where it was planned."""
    key = entry.key
    live = conn.cache.get(key)
    if live is None and not conn.cache.is_watched(entry.api_version, key.kind):
        live = await conn.client.get(entry.api_version, key.kind, key.namespace, key.name)
    if live is not None:
        return {**live, "apiVersion": entry.api_version, "kind": key.kind}
    if key in stand_ins:
        return stand_ins[key]
    metadata = {"name": key.name, **({"namespace": key.namespace} if key.namespace else {})}
    return {"apiVersion": entry.api_version, "kind": key.kind, "metadata": metadata}


def ignores_extraneous(live: Mapping[str, Any] | None) -> bool:
    """Whether a live object carries the compare option ``IgnoreExtraneous`` (read leniently: a live
    object's annotations were checked when it was applied, or were never gitward's to check)."""
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    return any(
        "IgnoreExtraneous" in (part.strip() for part in str(annotations.get(name) or "").split(","))
        for name in COMPARE_OPTION_ANNOTATIONS
    )
