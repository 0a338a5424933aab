"""Thin entry points over the sync plan's ordering, for callers that want a flat list.

The order itself (phase -> wave -> kind -> name) lives in ``plan.syncplan.order_key``; this module only
applies it to a list of manifests, so no other place decides an order of its own.

Deliberately not here: grouping into steps, hooks aside, deletions (``plan.syncplan.build_plan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.plan.annotations import wave_of
from gitward.plan.hooks import HookPhase, hook_of
from gitward.plan.syncplan import order_key

__all__ = ["phase_of", "sync_order", "wave_of"]


def phase_of(obj: Mapping[str, Any]) -> HookPhase:
    """The phase an object is applied in first: its hook's first phase, else Sync."""
    hook = hook_of(obj)
    return HookPhase.SYNC if hook is None else hook.phase


def sync_order(manifests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every manifest, hooks included, in plan order; checks every wave and hook annotation on the way.

    SyncFail and Skip hooks sort after everything else. The executor runs ``build_plan``'s steps; this
    flat list is for callers that only need the order.
    """
    return sorted(manifests, key=lambda m: order_key(phase_of(m), wave_of(m), ResourceKey.of(m)))
