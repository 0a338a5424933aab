"""gitward.apply (L3): executes sync plans against a ``KubeClient`` (docs/architecture.md).

One module per verb: ``executor`` (a plan's steps in order, re-entrant), ``staged`` (one step's
objects in stages), ``objects`` (one object with its sync options), ``ssa`` (server-side apply, only
if it drifted, under ``guard``'s preconditions so a write never takes another app's object),
``hooks`` (create, delete by policy), ``waits`` (health of a wave, a hook's end), ``namespace``
(CreateNamespace), ``prune``, ``release`` (marks taken off what a removed app leaves behind),
``diffview``, ``inventory`` (rebuild from the cluster). ``verdicts`` is the memory that makes a
no-op reconcile send nothing.
"""

from gitward.apply._compare import desired_digest
from gitward.apply.diffview import ObjectDiffView, diff_app
from gitward.apply.executor import Execution, ExecutionSettings, Executor, Failure, Recorder
from gitward.apply.guard import ForeignOwner, foreign_owner, guarded_apply
from gitward.apply.inventory import marked_inventories, rebuild_inventory
from gitward.apply.namespace import ensure_namespace
from gitward.apply.objects import ObjectApply, apply_object
from gitward.apply.prune import awaiting_deletion, prune
from gitward.apply.release import release
from gitward.apply.ssa import Standing, apply_one, standing
from gitward.apply.staged import CrdNotReady, apply_staged
from gitward.apply.verdicts import Verdict, VerdictCache
from gitward.apply.waits import CacheView, LiveView

__all__ = [
    "CacheView",
    "CrdNotReady",
    "Execution",
    "ExecutionSettings",
    "Executor",
    "Failure",
    "ForeignOwner",
    "LiveView",
    "ObjectApply",
    "ObjectDiffView",
    "Recorder",
    "Standing",
    "Verdict",
    "VerdictCache",
    "apply_object",
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
    "release",
    "standing",
]
