"""gitward.plan: pairing, ordering, hooks parsing and inventory maths (DESIGN.md section 3, L1, pure).

Turns rendered manifests and the cluster cache's view into what the apply layer executes: pairs
of desired and live objects, a total apply order grouped into waves and stages, hook phases, and
the inventory after a sync with what is stale.
"""

from gitward.plan.hooks import DeletePolicy, Hook, HookPhase, hook_of
from gitward.plan.inventory import inventory_of, merge_failed, stale
from gitward.plan.namespaces import IsNamespaced, fill_namespaces
from gitward.plan.order import Wave, phase_of, plan_waves, stages, sync_order, wave_of, waves
from gitward.plan.pairing import Pair, missing, pair

__all__ = [
    "DeletePolicy",
    "Hook",
    "HookPhase",
    "IsNamespaced",
    "Pair",
    "Wave",
    "fill_namespaces",
    "hook_of",
    "inventory_of",
    "merge_failed",
    "missing",
    "pair",
    "phase_of",
    "plan_waves",
    "stages",
    "stale",
    "sync_order",
    "wave_of",
    "waves",
]
