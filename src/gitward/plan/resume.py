"""Rebuilding the plan of an interrupted sync after a restart, so its digest can say "same plan".

``build_plan`` is deterministic, but a deletion is placed by its *live* object's wave and options, and
an object the interrupted sync already deleted has no live object any more. ``prune_stand_ins`` gives,
for every deletion of the stored plan, a stand-in manifest that places it exactly where the stored plan
had it (same step, same options). The caller passes the live object where there is one and the
stand-in where there is not; equal digests then mean the rebuilt plan is the one that was running, and
the executor resumes it at its next step (docs/reliability.md, F3).

Deliberately not here: deciding to resume or restart, and reading the store (reconcile/).
"""

from __future__ import annotations

from typing import Any

from gitward.core.keys import ResourceKey
from gitward.plan.annotations import ObjectOptions
from gitward.plan.syncplan import PlannedObject, SyncPlan

_WAVE = "gitward.dev/sync-wave"
_SYNC_OPTIONS = "gitward.dev/sync-options"
_COMPARE_OPTIONS = "gitward.dev/compare-options"


def prune_stand_ins(stored: SyncPlan) -> dict[ResourceKey, dict[str, Any]]:
    """A manifest per deletion of ``stored`` that ``build_plan`` places as ``stored`` placed it."""
    out: dict[ResourceKey, dict[str, Any]] = {}
    for step in stored.steps:
        for planned in step.prunes:
            out[planned.key] = _stand_in(planned, wave=0 if step.prune_last else step.wave)
    return out


def _stand_in(planned: PlannedObject, *, wave: int) -> dict[str, Any]:
    """Every option is written out, so the app-wide defaults cannot change what the object had.

    ``ServerSideApply`` is always true and ``Delete=true`` is refused in annotations, so they are
    written only when they differ from what an object without them gets.
    """
    options = planned.options
    written = [
        f"{name}={str(value).lower()}"
        for name, value in (
            ("Prune", options.prune),
            ("Replace", options.replace),
            ("Force", options.force),
            ("Validate", options.validate),
            ("SkipDryRunOnMissingResource", options.skip_dry_run_on_missing_resource),
            ("PruneLast", options.prune_last),
        )
    ]
    if options.delete != ObjectOptions().delete:
        written.append("Delete=false")
    annotations = {_WAVE: str(wave), _SYNC_OPTIONS: ",".join(written)}
    if options.ignore_extraneous:
        annotations[_COMPARE_OPTIONS] = "IgnoreExtraneous"
    key = planned.key
    metadata: dict[str, Any] = {"name": key.name, "annotations": annotations}
    if key.namespace:
        metadata["namespace"] = key.namespace
    return {"apiVersion": planned.api_version, "kind": key.kind, "metadata": metadata}
