"""The JSON-ready views of apps the API serves (shapes documented in ``service``).

``repoURL`` is shown through ``redact_url``: a user name in an https URL may be a token.

``running`` is the operation a reconcile has started and not yet finished (None otherwise): the
status's ``operation`` is the last finished one, and the live pages show both.
"""

from __future__ import annotations

from typing import Any

from gitward.core.appstatus import HealthState, SyncState, suspended_by
from gitward.core.conditions import Condition, ConditionType
from gitward.core.redact import redact_url
from gitward.reconcile.runtime import AppRuntime


def app_summary(rt: AppRuntime) -> dict[str, Any]:
    app, status = rt.app, rt.status
    source = app.spec.source
    running = running_operation(rt)
    return {
        "name": app.name,
        "project": app.spec.project,
        "parent": rt.parent,
        "repoURL": redact_url(source.repo_url),
        "path": source.path,
        "chart": source.chart,
        "revision": rt.pinned_revision or source.revision,
        "destination": {
            "cluster": app.spec.destination.cluster,
            "namespace": app.spec.destination.namespace,
        },
        "automated": app.spec.sync_policy.automated is not None,
        "sync": (status.sync or SyncState()).to_dict(),
        "health": (status.health or HealthState()).to_dict(),
        "conditions": [c.to_dict() for c in status.conditions],
        "suspended": rt.suspended,
        "suspendReason": status.suspend_reason or "",
        "suspendedBy": suspended_by(status),  # spec | user | rollback | revision, "" when not
        # {message, windows, until}: a window holds automation back
        "syncWindow": status.sync_window.to_dict() if status.sync_window else None,
        "operation": status.operation,
        "resources": status.resources or [],
        "message": status.error or "",
        "labels": dict(app.metadata.labels),
        "running": running,
        # A request outlives an operation that ended on its own only until the next pass drops it.
        "terminating": rt.terminate_requested and running is not None,
    }


def running_operation(rt: AppRuntime) -> dict[str, Any] | None:
    """The operation started and not finished yet: ``rt.operation`` until a finished operation
    (``status.operation``) ends at or after its start (a folded heal keeps the entry it joined)."""
    started = rt.operation
    if not started or not rt.lock.locked():
        return None
    finished = rt.status.operation or {}
    begun = started.get("startedAt") or 0.0
    if finished.get("id") == started.get("id") or (finished.get("finishedAt") or 0.0) >= begun:
        return None
    return {**started, "phase": "Running"}


def invalid_app_summary(name: str, message: str) -> dict[str, Any]:
    """An Application that failed validation is listed with its error, so its owner sees why."""
    stalled = Condition(ConditionType.STALLED, True, "ValidationFailed", message).to_dict()
    ready = Condition(ConditionType.READY, False, "ValidationFailed", message).to_dict()
    return {
        "name": name,
        "project": "",
        "parent": None,
        "repoURL": "",
        "path": "",
        "chart": None,
        "revision": "",
        "destination": {"cluster": "", "namespace": ""},
        "automated": False,
        "sync": {"status": "Unknown", "revision": ""},
        "health": {"status": "Unknown", "message": message},
        "conditions": [ready, stalled],
        "suspended": False,
        "suspendReason": "",
        "suspendedBy": "",
        "syncWindow": None,
        "operation": None,
        "resources": [],
        "message": message,
        "labels": {},
        "running": None,
        "terminating": False,
    }
