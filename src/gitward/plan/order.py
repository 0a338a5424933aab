"""The order objects are applied in: phase -> wave -> kind -> name, grouped into waves and stages.

Phase comes from hooks (PreSync before ordinary objects before PostSync); waves from the
``gitward.dev/sync-wave`` annotation (Argo CD's ``argocd.argoproj.io/sync-wave`` is read too, and a
Helm hook's ``helm.sh/hook-weight`` when it has no wave), an integer, default 0, negative allowed;
within a wave, ``core.kinds.apply_order`` puts Namespaces and CRDs first and dependents after what
they depend on. The order is total, so two runs over the same manifests always agree.

Deliberately not here: executing waves and waiting between them (apply/), and the persisted
operation state (store/).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey
from gitward.core.kinds import apply_order, is_first_stage
from gitward.plan.hooks import HELM_HOOK, HookPhase, annotations_of, hook_of

WAVE_ANNOTATIONS = ("gitward.dev/sync-wave", "argocd.argoproj.io/sync-wave")
HELM_WEIGHT = "helm.sh/hook-weight"


def wave_of(obj: Mapping[str, Any]) -> int:
    """The object's sync wave; raises ``ValidationError`` when the annotation is not an integer."""
    annotations = annotations_of(obj)
    names = [*WAVE_ANNOTATIONS, HELM_WEIGHT] if HELM_HOOK in annotations else WAVE_ANNOTATIONS
    for name in names:
        if name in annotations:
            raw = str(annotations[name]).strip()
            try:
                return int(raw)
            except ValueError:
                raise ValidationError(
                    f"{ResourceKey.of(obj)}: annotation {name}: {raw!r} is not an integer",
                    reason="InvalidAnnotation",
                ) from None
    return 0


def phase_of(obj: Mapping[str, Any]) -> HookPhase:
    """The phase an object is applied in: its hook's first phase, else Sync."""
    hook = hook_of(obj)
    return HookPhase.SYNC if hook is None else hook.phase


def sort_key(obj: Mapping[str, Any]) -> tuple[int, int, tuple[int, int, str, str, str]]:
    return (phase_of(obj).rank, wave_of(obj), apply_order(ResourceKey.of(obj)))


def sync_order(manifests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """All manifests in apply order (phase, wave, first stage, kind rank, group, namespace, name)."""
    return sorted(manifests, key=sort_key)


@dataclass(frozen=True)
class Wave:
    """One step of a sync: objects of one phase and wave number, in apply order."""

    phase: HookPhase
    number: int
    objects: tuple[dict[str, Any], ...]


def plan_waves(manifests: Iterable[dict[str, Any]]) -> list[Wave]:
    """Manifests grouped into consecutive (phase, wave) steps, in execution order."""
    keyed = sorted(((sort_key(m), m) for m in manifests), key=lambda pair: pair[0])
    out = []
    for (phase_rank, number), group in groupby(keyed, key=lambda pair: pair[0][:2]):
        out.append(Wave(list(HookPhase)[phase_rank], number, tuple(m for _, m in group)))
    return out


def waves(manifests: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Just the objects of :func:`plan_waves`, one list per wave."""
    return [list(w.objects) for w in plan_waves(manifests)]


def stages(manifests: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split (a wave of) manifests into the first stage (Namespaces, CRDs) and the rest.

    The first stage must exist, and CRDs be established, before the rest is even dry-run, since
    the API rejects objects of unknown kinds or in missing namespaces. Empty stages are left out.
    """
    ordered = sync_order(manifests)
    first = [m for m in ordered if is_first_stage(ResourceKey.of(m))]
    rest = [m for m in ordered if not is_first_stage(ResourceKey.of(m))]
    return [stage for stage in (first, rest) if stage]
