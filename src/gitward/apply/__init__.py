"""gitward.apply (L3): executes plans against a ``KubeClient`` (DESIGN.md section 3).

One module per verb: ``ssa`` (one object, only if it drifted, under ``guard``'s preconditions so a
write never takes another app's object), ``staged`` (stages and waves),
``namespace`` (CreateNamespace), ``prune``, ``diffview``, ``wait``, ``inventory`` (rebuild from the
cluster). ``verdicts`` is the memory that makes a no-op reconcile send nothing.
"""

from gitward.apply._compare import desired_digest
from gitward.apply.diffview import ObjectDiffView, diff_app
from gitward.apply.guard import ForeignOwner, foreign_owner, guarded_apply
from gitward.apply.inventory import marked_inventories, rebuild_inventory
from gitward.apply.namespace import ensure_namespace
from gitward.apply.prune import awaiting_deletion, prune
from gitward.apply.ssa import Standing, apply_one, standing
from gitward.apply.staged import CrdNotReady, apply_staged
from gitward.apply.verdicts import Verdict, VerdictCache
from gitward.apply.wait import wait_healthy

__all__ = [
    "CrdNotReady",
    "ForeignOwner",
    "ObjectDiffView",
    "Standing",
    "Verdict",
    "VerdictCache",
    "apply_one",
    "apply_staged",
    "awaiting_deletion",
    "desired_digest",
    "diff_app",
    "ensure_namespace",
    "foreign_owner",
    "guarded_apply",
    "marked_inventories",
    "prune",
    "rebuild_inventory",
    "standing",
    "wait_healthy",
]
