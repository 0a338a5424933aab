"""The sync plan: every object of a sync in the one order it is applied, decided in one place.

``build_plan`` turns rendered, validated objects (namespaces filled, marks on) into steps. A step is
one (phase, wave): PreSync, then Sync, then PostSync, each by wave, lowest first, negative allowed.
Inside a step objects go by ``core.kinds.apply_order`` (Namespaces and CRDs first, then kind rank,
group, namespace, name), so the order is total and the same input always gives the same plan, byte
for byte in JSON. Deletions of what left Git ride in the Sync step of the wave they were applied in,
after that step's applies, in reverse apply order (dependents first); PruneLast deletions (per object
or app-wide) get a step of their own after the last Sync wave. SyncFail hooks are steps too, placed
after the success path and run only when the operation fails. Skip hooks, Helm test hooks and Helm
hooks with no sync meaning, and deletions vetoed by ``Prune=false``, are listed as skipped with why.

A hook with ``metadata.generateName`` and no name is planned under its prefix as name (``generate_name``
is set); the executor names it when it creates it and keeps the created name in its progress. An
ordinary object must have a name: with generateName it would be created anew on every sync.

Hooks never enter the inventory; ``SyncPlan.inventory_objects`` is what the inventory is built from.

Deliberately not here: running steps, waiting for health, deleting hooks (apply/); which live objects
are stale (``plan.inventory``); the progress of a running plan (``plan.progress``).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey
from gitward.core.kinds import apply_order, is_first_stage
from gitward.plan.annotations import ObjectOptions, options_of, wave_of
from gitward.plan.hooks import DeletePolicy, Hook, HookPhase, hook_of

PLAN_FORMAT = 1
#: A server-side apply refuses fields the schema does not declare whatever ``fieldValidation`` says, so
#: Validate=false acts only on what gitward creates or replaces (hooks, Replace=true objects).
_VALIDATE_NEEDS_REPLACE = (
    "{key}: sync option Validate=false needs Replace=true: gitward applies this object server-side, and "
    "the API server refuses fields its schema does not declare in a server-side apply whatever the "
    "validation setting; with Replace=true the object is created or replaced and unknown fields are dropped"
)
_GENERATE_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*)?")


def order_key(
    phase: HookPhase, wave: int, key: ResourceKey
) -> tuple[int, int, tuple[int, int, str, str, str]]:
    """The one ordering of gitward: phase, then wave, then apply order (stage, kind, group, ns, name)."""
    return (phase.rank, wave, apply_order(key))


class SkipReason(enum.StrEnum):
    SKIP_HOOK = "SkipHook"
    HELM_TEST_HOOK = "HelmTestHook"
    HELM_HOOK_WITHOUT_SYNC_MEANING = "HelmHookWithoutSyncMeaning"
    PRUNE_DISABLED = "PruneDisabled"


@dataclass(frozen=True)
class PlannedObject:
    """One object of a step. For a generated hook ``key.name`` is its generateName prefix.

    ``manifest`` is what to send; it is not part of the plan's JSON, equality or digest, so a plan read
    back from history compares equal to the plan it was written from.
    """

    key: ResourceKey
    api_version: str
    hook: bool = False
    delete_policies: tuple[DeletePolicy, ...] = ()
    generate_name: bool = False
    options: ObjectOptions = field(default_factory=ObjectOptions)
    manifest: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.key.id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "apiVersion": self.api_version, "hook": self.hook}
        if self.delete_policies:
            out["deletePolicies"] = [str(p) for p in self.delete_policies]
        if self.generate_name:
            out["generateName"] = True
        if options := self.options.to_list():
            out["options"] = options
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedObject:
        return cls(
            key=ResourceKey.from_id(str(data["id"])),
            api_version=str(data["apiVersion"]),
            hook=bool(data.get("hook", False)),
            delete_policies=tuple(DeletePolicy(p) for p in data.get("deletePolicies", ())),
            generate_name=bool(data.get("generateName", False)),
            options=ObjectOptions.from_list(data.get("options", ())),
        )


@dataclass(frozen=True)
class Step:
    """One (phase, wave): its objects in apply order, then its deletions in reverse apply order."""

    index: int
    phase: HookPhase
    wave: int
    objects: tuple[PlannedObject, ...] = ()
    prunes: tuple[PlannedObject, ...] = ()
    prune_last: bool = False

    @property
    def hooks(self) -> tuple[PlannedObject, ...]:
        return tuple(o for o in self.objects if o.hook)

    def hook_ref(self, obj: PlannedObject) -> str:
        """How progress names a hook run: a hook in two phases runs, and completes, twice."""
        return f"{self.phase}:{obj.id}"

    def stages(self) -> list[tuple[PlannedObject, ...]]:
        """The step's objects split into Namespaces/CRDs and the rest; empty stages left out.

        The first stage must exist, and CRDs be established, before the rest is even dry-run.
        """
        first = tuple(o for o in self.objects if is_first_stage(o.key))
        rest = tuple(o for o in self.objects if not is_first_stage(o.key))
        return [stage for stage in (first, rest) if stage]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "phase": str(self.phase),
            "wave": self.wave,
            "objects": [o.to_dict() for o in self.objects],
        }
        if self.prunes:
            out["prunes"] = [o.to_dict() for o in self.prunes]
        if self.prune_last:
            out["pruneLast"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            index=int(data["index"]),
            phase=HookPhase(data["phase"]),
            wave=int(data["wave"]),
            objects=tuple(PlannedObject.from_dict(o) for o in data.get("objects", ())),
            prunes=tuple(PlannedObject.from_dict(o) for o in data.get("prunes", ())),
            prune_last=bool(data.get("pruneLast", False)),
        )


@dataclass(frozen=True)
class Skipped:
    """An object a sync leaves alone, and why (what ``--dry-run`` shows under "skipped")."""

    key: ResourceKey
    api_version: str
    reason: SkipReason
    message: str

    @property
    def id(self) -> str:
        return self.key.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "apiVersion": self.api_version,
            "reason": str(self.reason),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skipped:
        return cls(
            ResourceKey.from_id(str(data["id"])),
            str(data["apiVersion"]),
            SkipReason(data["reason"]),
            str(data["message"]),
        )


@dataclass(frozen=True)
class SyncPlan:
    """Steps of the success path (PreSync, Sync, PostSync), then the SyncFail steps; indices are global."""

    steps: tuple[Step, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def main_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.phase.runs_on_success_path)

    @property
    def fail_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.phase is HookPhase.SYNC_FAIL)

    def inventory_objects(self) -> list[dict[str, Any]]:
        """The manifests the app owns after this sync: every non-hook object, once, in apply order."""
        return [dict(o.manifest) for s in self.main_steps for o in s.objects if not o.hook]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "steps": [s.to_dict() for s in self.steps],
            "skipped": [s.to_dict() for s in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncPlan:
        """A plan read back from history: everything but the manifests."""
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"unknown sync plan format {data.get('format')!r}")
        return cls(
            steps=tuple(Step.from_dict(s) for s in data.get("steps", ())),
            skipped=tuple(Skipped.from_dict(s) for s in data.get("skipped", ())),
        )

    def to_json(self) -> str:
        """Canonical JSON: equal plans give equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        """Identifies the plan's shape, so a resumed operation can tell its plan is still the same one."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


#: (phase, wave) -> (objects to apply, objects to delete), while a plan is being built.
_Groups = dict[tuple[HookPhase, int], tuple[list[PlannedObject], list[PlannedObject]]]


def build_plan(
    objects: Iterable[Mapping[str, Any]],
    *,
    prune: Iterable[Mapping[str, Any]] = (),
    defaults: ObjectOptions | None = None,
    prune_last: bool = False,
) -> SyncPlan:
    """The sync plan for ``objects`` (desired) and ``prune`` (live objects to delete, owner already proven).

    ``defaults`` are the app-wide per-object options (``annotations.object_defaults``); ``prune_last``
    is the app-wide PruneLast. Raises ``ValidationError`` naming the object for a bad annotation, a
    missing name, or two objects planned under one identity in one phase; ``ValueError`` when an
    object is both desired and to be pruned (the caller's stale set is wrong).
    """
    groups: _Groups = {}
    skipped: list[Skipped] = []
    for obj in objects:
        hook = hook_of(obj)
        key, generated = _identity(obj, hook)
        api_version = str(obj.get("apiVersion", ""))
        if hook is not None and hook.skipped:
            skipped.append(Skipped(key, api_version, _skip_reason(hook), hook.skip_reason()))
            continue
        options = options_of(obj, defaults=defaults)
        if not options.validate and not options.replace and hook is None:
            raise ValidationError(_VALIDATE_NEEDS_REPLACE.format(key=key), reason="InvalidAnnotation")
        planned = PlannedObject(
            key=key,
            api_version=api_version,
            hook=hook is not None,
            delete_policies=hook.delete_policies if hook else (),
            generate_name=generated,
            options=options,
            manifest=obj,
        )
        wave = wave_of(obj)
        for phase in hook.phases if hook else (HookPhase.SYNC,):
            groups.setdefault((phase, wave), ([], []))[0].append(planned)
    last = _place_prunes(prune, groups, skipped, defaults=defaults, prune_last=prune_last)
    _refuse_duplicates(groups, last)
    return _assemble(groups, last, skipped)


def _identity(obj: Mapping[str, Any], hook: Hook | None) -> tuple[ResourceKey, bool]:
    key = ResourceKey.of(obj)
    if key.name:
        return key, False
    prefix = str((obj.get("metadata") or {}).get("generateName") or "")
    if not prefix:
        raise ValidationError(f"{key}: metadata.name is empty", reason="InvalidObject")
    named = ResourceKey(key.group, key.kind, key.namespace, prefix)
    if hook is None:
        raise ValidationError(
            f"{named}: metadata.generateName without a name is allowed on hooks only "
            "(an ordinary object would be created anew on every sync)",
            reason="InvalidObject",
        )
    if not _GENERATE_NAME.fullmatch(prefix):
        raise ValidationError(
            f"{named}: metadata.generateName {prefix!r} is not a valid prefix", reason="InvalidObject"
        )
    return named, True


def _skip_reason(hook: Hook) -> SkipReason:
    if not hook.helm:
        return SkipReason.SKIP_HOOK
    return SkipReason.HELM_TEST_HOOK if hook.helm_test else SkipReason.HELM_HOOK_WITHOUT_SYNC_MEANING


def _place_prunes(
    prune: Iterable[Mapping[str, Any]],
    groups: _Groups,
    skipped: list[Skipped],
    *,
    defaults: ObjectOptions | None,
    prune_last: bool,
) -> list[PlannedObject]:
    """Put each deletion in the Sync step of its (live) wave; return the PruneLast ones."""
    desired = {o.key for applies, _ in groups.values() for o in applies if not o.hook}
    last: list[PlannedObject] = []
    for live in prune:
        key = ResourceKey.of(live)
        if key in desired:
            raise ValueError(f"{key} is both desired and to be pruned")
        api_version = str(live.get("apiVersion", ""))
        options = options_of(live, defaults=defaults)
        if not options.prune:
            skipped.append(
                Skipped(key, api_version, SkipReason.PRUNE_DISABLED, "Prune=false: left in the cluster")
            )
            continue
        planned = PlannedObject(key=key, api_version=api_version, options=options, manifest=live)
        if prune_last or options.prune_last:
            last.append(planned)
        else:
            groups.setdefault((HookPhase.SYNC, wave_of(live)), ([], []))[1].append(planned)
    return last


def _refuse_duplicates(groups: _Groups, last: list[PlannedObject]) -> None:
    """Two objects under one identity in a phase would make the order and the progress ambiguous."""
    seen: dict[tuple[HookPhase, str], int] = {}
    placed = [(phase, obj) for (phase, _), (applies, prunes) in groups.items() for obj in [*applies, *prunes]]
    for phase, obj in [*placed, *((HookPhase.SYNC, obj) for obj in last)]:
        seen[(phase, obj.id)] = seen.get((phase, obj.id), 0) + 1
    twice = sorted(f"{phase} {ResourceKey.from_id(oid)}" for (phase, oid), n in seen.items() if n > 1)
    if twice:
        raise ValidationError(f"planned twice: {', '.join(twice)}", reason="DuplicateObject")


def _assemble(groups: _Groups, last: list[PlannedObject], skipped: list[Skipped]) -> SyncPlan:
    """Order the groups into indexed steps; the PruneLast step goes right after the last Sync wave."""
    keys = sorted(groups, key=lambda k: (k[0].rank, k[1]))
    cells = [(phase, wave, *groups[(phase, wave)], False) for phase, wave in keys]
    if last:
        sync_waves = [wave for phase, wave in keys if phase is HookPhase.SYNC]
        after = max((i for i, (phase, _) in enumerate(keys) if phase.rank <= HookPhase.SYNC.rank), default=-1)
        cells.insert(after + 1, (HookPhase.SYNC, max(sync_waves, default=-1) + 1, [], last, True))
    steps = tuple(
        Step(
            index=index,
            phase=phase,
            wave=wave,
            objects=tuple(sorted(applies, key=lambda o: apply_order(o.key))),
            prunes=tuple(sorted(prunes, key=lambda o: apply_order(o.key), reverse=True)),
            prune_last=is_last,
        )
        for index, (phase, wave, applies, prunes, is_last) in enumerate(cells)
    )
    ordered_skips = sorted(skipped, key=lambda s: (apply_order(s.key), s.reason, s.message))
    return SyncPlan(steps=steps, skipped=tuple(ordered_skips))
