"""What the engine keeps in memory per app between reconciles, and the request for one reconcile."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.diff.drift import Drift
from gitward.diff.fights import FightBook
from gitward.model import Application


@dataclass(frozen=True)
class SyncRequest:
    """One reconcile: ``apply`` forces a sync (user action); otherwise the sync policy decides."""

    trigger: str
    apply: bool = False
    fetch: bool = False  # wants sources no older than the fetch freshness window
    force_fetch: bool = False  # a user asked: fetch now whatever the window
    revision: str | None = None  # pin to this revision (rollback / sync --revision)
    prune: bool | None = None
    force: bool = False
    history_id: int | None = None
    initiator: str = ""  # who asked through the API (a principal's name); "" for the engine's own passes


@dataclass(frozen=True)
class InterruptedOperation:
    """A sync a killed process left Running, read back at start: resumed by the app's next pass when
    its plan is still the same one (``reconcile/operation.py``), else closed and started afresh."""

    id: int
    record: dict[str, Any]  # the operation's row as the store returns it (revision, startedAt, ...)
    plan: dict[str, Any]  # the stored plan document: digests, revision and the plan's JSON
    progress: dict[str, Any]  # the last progress saved ({} when it stopped before its first step)


@dataclass
class AppRuntime:
    app: Application
    status: AppStatus
    verdicts: VerdictCache
    inventory: list[InventoryEntry]
    parent: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_due: float = 0.0
    retry_at: float | None = None
    reported_drift: dict[ResourceKey, str] = field(default_factory=dict)
    inventory_known: bool = True  # False after the state database was lost: rebuild from the cluster
    saved_status_digest: str = ""  # of the status last written to the store
    settled_at: float = 0.0  # monotonic time of the last successful full pass; 0: none since a failure
    prepared_memo: tuple[Any, Any] | None = None  # (render digest, spec, ...) -> validated objects
    operation: dict[str, Any] | None = None  # the last operation started: id, revision, commit, ...
    # Set by `gitward app terminate`; the executor stops at its next step (or wait) and clears it.
    terminate_requested: bool = False
    interrupted: InterruptedOperation | None = None  # a sync to resume, found at start
    # The drift journal (``reconcile/drift.py``): per object, the (cached resourceVersion, verdict
    # resourceVersion) a full read was made for, what it found and the version it read, so a pass
    # that sees the same copies again reads nothing; and what this pass found drifted, for the heal.
    drift_read: dict[ResourceKey, tuple[str, str, Drift, str]] = field(default_factory=dict)
    drifted: dict[ResourceKey, Drift] = field(default_factory=dict)
    # Drift fights (``reconcile/fights.py``): the book (made at the first pass, from the status), and
    # the drifted fields of this pass that self-heal leaves alone because a fight paused them.
    fights: FightBook | None = None
    held: dict[ResourceKey, tuple[str, ...]] = field(default_factory=dict)
    drift_due: float = 0.0  # monotonic time of a drift pass the scheduler owes (a pause's end); 0: none
    lists_orphans: bool = False  # its Project lists orphaned objects (``orphans.py``): never skipped
    orphan_kinds_at: float = 0.0  # monotonic time the kinds to watch for them were last discovered

    @property
    def name(self) -> str:
        return self.app.name

    @property
    def suspended(self) -> bool:
        return bool(self.status.suspended)

    @property
    def pinned_revision(self) -> str | None:
        return self.status.pinned_revision or None
