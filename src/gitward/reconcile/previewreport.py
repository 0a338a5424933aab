"""One app of a ``gitward preview`` report: the head's dry run sorted into created, changed and pruned.

The shape of an app (``app_header``): ``{name, project, cluster, namespace, change, status, prune,
created, changed, pruned, unchanged, hooks, skipped, violations, children, error, notes}``.
``change`` is ``added``, ``changed`` or ``removed``; ``status`` is ``ok``, ``refused`` (the project's
rules forbid the head: ``violations``) or ``failed`` (``error``: reason, step, message). Objects are
``{id, group, kind, namespace, name, action, diff, message}``, their diffs masked by the dry run
(``diff/masking.py`` sits under every diff here too). ``prune`` says when what left Git goes:
``automatic`` (automated prune), ``manual`` (only a sync that asks for prune) or ``disabled``
(``Prune=false``: listed under ``skipped``).

Deliberately not here: preparing or dry-running (``preview``), formatting (``cli/preview.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.core.errors import GitwardError, PolicyError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.diff.unified import unified_diff
from gitward.model import Application
from gitward.reconcile import pipeline
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime

_BUCKETS = {"create": "created", "configure": "changed", "prune": "pruned", "hook": "hooks"}
_REMOVAL = {
    "orphan": "deletionPolicy orphan keeps these objects and removes their marks",
    "foreground": "deletionPolicy foreground deletes these objects, dependents first",
    "background": "deletionPolicy background deletes these objects",
}


def prune_policy(app: Application) -> str:
    policy = app.spec.sync_policy
    if not policy.prune_allowed:
        return "disabled"
    return "automatic" if policy.automated is not None and policy.automated.prune else "manual"


def app_header(app: Application, *, change: str) -> dict[str, Any]:
    return {
        "name": app.name,
        "project": app.spec.project,
        "cluster": app.spec.destination.cluster,
        "namespace": app.spec.destination.namespace or "",
        "change": change,
        "status": "ok",
        "prune": prune_policy(app),
        "created": [],
        "changed": [],
        "pruned": [],
        "unchanged": 0,
        "hooks": [],
        "skipped": [],
        "violations": [],
        "children": {"added": [], "changed": [], "removed": []},
        "error": None,
        "notes": [],
    }


def _ids(key: ResourceKey) -> dict[str, str]:
    return {"id": key.id, "group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def fill_from_plan(out: dict[str, Any], plan: Mapping[str, Any]) -> None:
    """Every object of every step of ``dryrun.dry_run``'s answer, in plan order, into its bucket."""
    for step in plan.get("steps") or ():
        for entry in [*(step.get("objects") or ()), *(step.get("prunes") or ())]:
            action = str(entry.get("action", ""))
            bucket = _BUCKETS.get(action)
            if bucket is None:
                out["unchanged"] += 1
                continue
            item = {k: v for k, v in entry.items() if k != "hook"}
            if action == "hook":
                item["message"] = f"{step.get('name', '')}: {entry.get('message', '')}"
            out[bucket].append(item)
    out["skipped"].extend(plan.get("skipped") or ())
    if out["prune"] == "manual" and out["pruned"]:
        out["notes"].append("automated prune is off: these are deleted only by a sync that asks for prune")


def add_base_prunes(
    out: dict[str, Any], entries: Sequence[InventoryEntry], base: Mapping[ResourceKey, Mapping[str, Any]]
) -> None:
    """An app with nothing in the cluster yet: what the base renders and the head does not."""
    for entry in entries:
        manifest = base.get(entry.key)
        out["pruned"].append(
            {
                **_ids(entry.key),
                "action": "prune",
                "diff": unified_diff(entry.key, None, manifest) if manifest is not None else "",
                "message": "rendered at the base only; the app has nothing in the cluster yet",
            }
        )


def add_kept(out: dict[str, Any], entries: Sequence[InventoryEntry]) -> None:
    """What left Git in an app that never prunes (``Prune=false`` app-wide)."""
    out["skipped"].extend(
        {**_ids(e.key), "reason": "PruneDisabled", "message": "left Git; the app sets Prune=false"}
        for e in entries
    )


def children_change(base: Sequence[Application], head: Sequence[Application]) -> dict[str, list[str]]:
    """Child Applications (app of apps) the change adds, changes or removes, by name."""
    before, after = {a.name: a for a in base}, {a.name: a for a in head}
    return {
        "added": sorted(set(after) - set(before)),
        "changed": sorted(n for n in set(after) & set(before) if after[n] != before[n]),
        "removed": sorted(set(before) - set(after)),
    }


def refused(out: dict[str, Any], violations: list[dict[str, str]]) -> dict[str, Any]:
    out["status"] = "refused"
    out["violations"] = violations
    out["notes"].append("the project's rules refuse the head: nothing of it would be applied or pruned")
    return out


def failed(out: dict[str, Any], error: GitwardError) -> dict[str, Any]:
    out["status"] = "failed"
    out["error"] = {"reason": error.reason, "step": str(error.step or ""), "message": error.message}
    return out


def violations_of(error: PolicyError) -> list[dict[str, str]]:
    if not error.violations:
        return [{"rule": error.reason, "object": "", "message": error.message}]
    return [
        {"rule": rule, "object": str(ResourceKey.from_id(obj)) if obj else "", "message": message}
        for rule, obj, message in error.violations
    ]


def shared_objects(prepared: Mapping[str, pipeline.Prepared]) -> dict[str, dict[ResourceKey, list[str]]]:
    """Objects two or more apps render on one cluster and none owns yet: the first to sync would
    take each and the others would be refused (``pipeline.check_claims``). App -> key -> others."""
    renderers: dict[tuple[str, ResourceKey], list[str]] = {}
    for name, found in prepared.items():
        for key in found.digests:
            renderers.setdefault((found.connection.name, key), []).append(name)
    out: dict[str, dict[ResourceKey, list[str]]] = {}
    for (_, key), names in renderers.items():
        for name in names if len(names) > 1 else ():
            out.setdefault(name, {})[key] = sorted(n for n in names if n != name)
    return out


def shared_violations(shared: Mapping[ResourceKey, list[str]]) -> list[dict[str, str]]:
    return [
        {
            "rule": "SharedResource",
            "object": str(key),
            "message": f"also rendered by application {', '.join(repr(o) for o in others)}: "
            "the first to sync takes it and the others are refused",
        }
        for key, others in sorted(shared.items())
    ]


async def removed_app(
    app: Application, ctx: PipelineContext, rt: AppRuntime, prepared: pipeline.Prepared | None
) -> dict[str, Any]:
    """An app the change removes: what it owns in the cluster (else what the base renders), with
    what its deletionPolicy does to it."""
    out = app_header(app, change="removed")
    out["notes"].append(f"removed from the config: {_REMOVAL[app.spec.deletion_policy]}")
    action = "release" if app.spec.deletion_policy == "orphan" else "prune"
    if rt.inventory:
        conn = await ctx.connection(app.spec.destination.cluster)
        await pipeline.watch_kinds(conn, (), rt.inventory)
        for entry in rt.inventory:
            live = conn.cache.get(entry.key)
            out["pruned"].append(
                {
                    **_ids(entry.key),
                    "action": action,
                    "diff": unified_diff(entry.key, None, live) if live is not None else "",
                    "message": "" if live is not None else "already gone",
                }
            )
    elif prepared is not None:
        add_base_prunes(out, list(prepared.inventory), {ResourceKey.of(m): m for m in prepared.objects})
    return out


def summary(apps: Sequence[Mapping[str, Any]], unchanged: Sequence[str]) -> dict[str, int]:
    return {
        "apps": len(apps) + len(unchanged),
        "touched": len(apps),
        "unchanged": len(unchanged),
        "created": sum(len(a["created"]) for a in apps),
        "changed": sum(len(a["changed"]) for a in apps),
        "pruned": sum(1 for a in apps for o in a["pruned"] if o.get("action") == "prune"),
        "released": sum(1 for a in apps for o in a["pruned"] if o.get("action") == "release"),
        "violations": sum(len(a["violations"]) for a in apps),
        "refused": sum(1 for a in apps if a["status"] == "refused"),
        "failed": sum(1 for a in apps if a["status"] == "failed"),
    }
