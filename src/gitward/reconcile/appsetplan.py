"""What one generation of an ApplicationSet would change, decided before anything changes.

Each Application the set makes is new (``create``), differs from the one registered (``update``,
or ``hold`` when ``applicationsSync`` allows no updates: ``create-only``, ``create-delete``), is
the same (``unchanged``), or has a name another app already holds (``conflict``: declared in the
config, made by another set, or rendered by an app-of-apps; the set does not take it). An app the
set made before that the generators no longer give is ``delete``d only when the set's policy deletes
(``create-delete``, ``sync``) *and* the generation has no problem at all; otherwise it is ``keep``
(the policy keeps it) or ``blocked`` (a problem stops every deletion: an app that could not be made
has not left). A generation whose generators failed makes no plan: nothing changes.

The same plan is what ``gitward appset preview`` prints and what the controller applies
(``reconcile/appsets.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.appset import Stamped
from gitward.model import Application
from gitward.model.appset import ApplicationSet
from gitward.reconcile.registry import GENERATED_BY, Registry, generated_by
from gitward.reconcile.runtime import AppRuntime


@dataclass
class SetPlan:
    create: list[Application] = field(default_factory=list)
    update: list[Application] = field(default_factory=list)
    hold: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # messages
    problems: list[str] = field(default_factory=list)  # of the stamping, then the conflicts
    delete: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.delete)


def _holder(rt: AppRuntime | None, name: str, registry: Registry) -> str | None:
    """Who holds the name ``name`` when it is not this set: for the conflict message."""
    if rt is None:
        return "in the config (refused there)" if name in registry.invalid else None
    if rt.parent is None:
        return "in the config"
    if rt.parent.startswith(GENERATED_BY):
        return f"by ApplicationSet {rt.parent.removeprefix(GENERATED_BY)!r}"
    return f"by application {rt.parent!r}"


def plan_generation(appset: ApplicationSet, stamped: Stamped, registry: Registry) -> SetPlan:
    parent = generated_by(appset.name)
    policy = appset.spec.sync_policy
    plan = SetPlan(problems=list(stamped.problems))
    for name, app in stamped.apps.items():
        rt = registry.runtimes.get(name)
        if rt is None or rt.parent != parent:
            holder = _holder(rt, name, registry)
            if holder is not None:
                plan.conflicts.append(
                    f"application {name!r} is already declared {holder}; the set does not make it"
                )
            else:
                plan.create.append(app)
        elif rt.app == app:
            plan.unchanged.append(name)
        elif policy.updates:
            plan.update.append(app)
        else:
            plan.hold.append(name)
    plan.problems += plan.conflicts
    gone = sorted(n for n, rt in registry.runtimes.items() if rt.parent == parent and n not in stamped.apps)
    if not policy.deletes:
        plan.keep = gone
    elif plan.problems:
        plan.blocked = gone
    else:
        plan.delete = gone
    return plan


def _app_view(app: Application, action: str) -> dict[str, Any]:
    source, destination = app.spec.source, app.spec.destination
    return {
        "name": app.name,
        "action": action,
        "project": app.spec.project,
        "repoURL": source.repo_url,
        "path": source.path,
        "revision": source.revision,
        "destination": {"cluster": destination.cluster, "namespace": destination.namespace},
    }


def plan_view(plan: SetPlan, stamped: Stamped, runtimes: Mapping[str, AppRuntime]) -> list[dict[str, Any]]:
    """One row per Application the set makes or made, with what a generation does to it."""
    actions = {a.name: "create" for a in plan.create} | {a.name: "update" for a in plan.update}
    actions |= dict.fromkeys(plan.hold, "hold") | dict.fromkeys(plan.unchanged, "unchanged")
    rows = [_app_view(app, actions.get(name, "conflict")) for name, app in stamped.apps.items()]
    for action, names in (("delete", plan.delete), ("keep", plan.keep), ("blocked", plan.blocked)):
        rows += [_app_view(runtimes[n].app, action) for n in names if n in runtimes]
    return rows
