"""gitward.plan: pairing, the sync plan, hook and option parsing, inventory maths (L1, pure).

Turns rendered manifests and the cluster cache's view into what the apply layer executes: pairs of
desired and live objects, the sync plan (phases, waves, hooks, deletions, in one order), the state
machine that resumes a plan after a crash, and the inventory after a sync with what is stale. The
layers and the pipeline are described in docs/architecture.md.
"""

from gitward.plan.annotations import ObjectOptions, object_defaults, options_of, wave_of
from gitward.plan.hookmarks import hook_selector, is_hook_of, with_hook_marks
from gitward.plan.hooks import DeletePolicy, Hook, HookPhase, hook_of
from gitward.plan.inventory import inventory_of, merge_failed, stale
from gitward.plan.namespaces import IsNamespaced, fill_namespaces
from gitward.plan.order import phase_of, sync_order
from gitward.plan.pairing import Pair, missing, pair
from gitward.plan.progress import Progress, is_done, next_step, pending_hooks
from gitward.plan.resume import prune_stand_ins
from gitward.plan.syncplan import (
    PlannedObject,
    Skipped,
    SkipReason,
    Step,
    SyncPlan,
    build_plan,
    order_key,
)

__all__ = [
    "DeletePolicy",
    "Hook",
    "HookPhase",
    "IsNamespaced",
    "ObjectOptions",
    "Pair",
    "PlannedObject",
    "Progress",
    "SkipReason",
    "Skipped",
    "Step",
    "SyncPlan",
    "build_plan",
    "fill_namespaces",
    "hook_of",
    "hook_selector",
    "inventory_of",
    "is_done",
    "is_hook_of",
    "merge_failed",
    "missing",
    "next_step",
    "object_defaults",
    "options_of",
    "order_key",
    "pair",
    "pending_hooks",
    "phase_of",
    "prune_stand_ins",
    "stale",
    "sync_order",
    "wave_of",
    "with_hook_marks",
]
