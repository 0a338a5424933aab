"""What happened to an app, told apart from the statuses the engine saves and the events it records.

The engine calls the notifier where it saves a status that changed and where it records an event
(``reconcile/records.py``); ``Transitions`` turns those into at most a few ``AppEvent`` values. It keeps
per app only what the next comparison needs (the last finished operation, health, since when the app
is OutOfSync, the Drift events since the last operation), so a save costs a few dictionary reads.

The rules (README, "Notifications"):

- **SyncSucceeded / SyncFailed:** an operation finished (``status.operation`` changed) Succeeded, or
  Failed/Error. A failure with the same commit and message as the one before it is not told again:
  an automated app retrying a broken commit with backoff makes one message, not one per retry.
  Terminated (a person stopped it) is neither.
- **DriftHealed:** a successful operation of the commit already deployed, after Drift events (or
  woken by drift), that no person asked for. A heal folded into the entry before it (a drift fight,
  ``reconcile/heals.py``) is the same heal and is not told again.
- **HealthDegraded:** health became Degraded, once per stretch of Degraded.
- **OutOfSync:** the app has been OutOfSync without a break since ``out_of_sync_since``; the notifier's
  timer decides when that is long enough.

Apps known at start are seeded from their stored statuses, so a restart tells nothing twice; an app
first seen later only has operations that finished after the notifier started told.

Deliberately not here: which Notification wants an event (``notifier``), message text, sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gitward.model import Application

SYNC_SUCCEEDED = "SyncSucceeded"
SYNC_FAILED = "SyncFailed"
HEALTH_DEGRADED = "HealthDegraded"
DRIFT_HEALED = "DriftHealed"
OUT_OF_SYNC = "OutOfSync"

_FAILED_PHASES = ("Failed", "Error")
_MAX_DRIFT = 5  # Drift messages kept per app until the next operation


@dataclass(frozen=True)
class AppEvent:
    """One thing that happened to an app, with the facts every message and payload is made from."""

    trigger: str
    app: str
    project: str
    cluster: str
    namespace: str
    repo_url: str  # as configured; shown only redacted, read to find a commit status's repository
    revision: str  # the revision the app tracks (a branch, a tag, a range)
    commit: str  # the operation's commit for sync events, else the app's deployed commit
    message: str
    sync: str
    health: str
    phase: str = ""  # the operation's phase, for sync events
    initiator: str = ""  # who asked for the sync, when a person did
    time: float = 0.0


@dataclass
class _Seen:
    facts: AppEvent  # the app as of its last saved status (trigger and message unset)
    op_key: tuple[Any, Any] | None = None  # (id, count) of the last finished operation
    failure: tuple[str, str] | None = None  # (commit, message) of the last failure told
    deployed_commit: str = ""
    health: str = "Unknown"
    out_of_sync_since: float | None = None
    drift: list[str] = field(default_factory=list)


def facts_of(app: Application, status: Mapping[str, Any], *, now: float) -> AppEvent:
    sync, health = status.get("sync") or {}, status.get("health") or {}
    spec = app.spec
    return AppEvent(
        trigger="",
        app=app.name,
        project=spec.project,
        cluster=spec.destination.cluster,
        namespace=spec.destination.namespace,
        repo_url=spec.source.repo_url,
        revision=spec.source.revision,
        commit=str(status.get("commit") or sync.get("revision") or ""),
        message=str(health.get("message") or ""),
        sync=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        time=now,
    )


def _op_key(operation: Mapping[str, Any] | None) -> tuple[Any, Any] | None:
    if not operation or operation.get("id") is None:
        return None
    return operation.get("id"), operation.get("count", 1)


class Transitions:
    def __init__(self, *, started_at: float) -> None:
        self.started_at = started_at  # operations of unseeded apps finished before this were told already
        self._apps: dict[str, _Seen] = {}

    def seed(self, app: Application, status: Mapping[str, Any], *, now: float) -> None:
        """What the app was when the notifier started: nothing stored is told again."""
        facts = facts_of(app, status, now=now)
        op = status.get("operation") or {}
        failed = op.get("phase") in _FAILED_PHASES
        self._apps[app.name] = _Seen(
            facts=facts,
            op_key=_op_key(op),
            failure=(str(op.get("commit", "")), str(op.get("message", ""))) if failed else None,
            deployed_commit=str(status.get("lastSyncedCommit") or ""),
            health=facts.health,
            out_of_sync_since=now if facts.sync == "OutOfSync" else None,
        )

    def drift(self, app: str, message: str) -> None:
        seen = self._apps.get(app)
        if seen is not None and len(seen.drift) < _MAX_DRIFT:
            seen.drift.append(message)

    def observe(self, app: Application, status: Mapping[str, Any], *, now: float) -> list[AppEvent]:
        facts = facts_of(app, status, now=now)
        seen = self._apps.get(app.name)
        if seen is None:
            seen = self._apps[app.name] = _Seen(facts=facts)
        seen.facts = facts
        events: list[AppEvent] = []
        operation = status.get("operation") or {}
        key = _op_key(operation)
        if key is not None and key != seen.op_key:
            folded = seen.op_key is not None and key[0] == seen.op_key[0]
            seen.op_key = key
            found = None if folded else self._operation_event(seen, operation, facts)
            seen.drift.clear()
            if found is not None:
                events.append(found)
        if facts.health == "Degraded" and seen.health != "Degraded":
            events.append(replace(facts, trigger=HEALTH_DEGRADED))
        seen.health = facts.health
        if facts.sync != "OutOfSync":
            seen.out_of_sync_since = None
        elif seen.out_of_sync_since is None:
            seen.out_of_sync_since = now
        return events

    def _operation_event(self, seen: _Seen, op: Mapping[str, Any], facts: AppEvent) -> AppEvent | None:
        phase = str(op.get("phase", ""))
        finished = op.get("finishedAt")
        if isinstance(finished, int | float) and finished < self.started_at:
            return None  # finished before this process started: told by the process that ran it
        commit = str(op.get("commit") or facts.commit)
        message = str(op.get("message") or "")
        initiator = str(op.get("initiator") or "")
        event = replace(facts, commit=commit, message=message, phase=phase, initiator=initiator)
        if phase in _FAILED_PHASES:
            if seen.failure == (commit, message):
                return None
            seen.failure = (commit, message)
            return replace(event, trigger=SYNC_FAILED)
        if phase != "Succeeded":
            return None
        seen.failure = None
        woken_by_drift = "drift" in str(op.get("trigger", "")).split(",")
        heal = (seen.drift or woken_by_drift) and not initiator and commit == seen.deployed_commit
        seen.deployed_commit = commit
        if heal:
            drift = "; ".join(seen.drift) or "live objects changed out of band"
            return replace(event, trigger=DRIFT_HEALED, message=f"healed: {drift}")
        return replace(event, trigger=SYNC_SUCCEEDED)

    def out_of_sync(self) -> list[tuple[float, AppEvent]]:
        """(since, the app's facts) for every app OutOfSync now."""
        return [
            (seen.out_of_sync_since, seen.facts)
            for seen in self._apps.values()
            if seen.out_of_sync_since is not None
        ]

    def forget(self, app: str) -> None:
        self._apps.pop(app, None)
