"""What the API, the pages and the live stream show of an app, built from its spec and typed status.

Pure (no runtime, no I/O), so the JSON shapes the API documents (``reconcile/service.py``) are
unit-tested without an engine. ``repoURL`` is shown through ``redact_url``: a user name in an https
URL may be a token. ``running`` is the operation a pass has started and not finished (the caller
knows; None otherwise): the status's ``operation`` is the last finished one, and the pages show both.
"""

from __future__ import annotations

from typing import Any

from gitward.core.appstatus import AppStatus, HealthState, SyncState, suspended_by
from gitward.core.conditions import Condition, ConditionType
from gitward.core.redact import redact_url
from gitward.model import Application


def summary_of(
    app: Application,
    status: AppStatus,
    *,
    parent: str | None,
    revision: str,
    running: dict[str, Any] | None,
    terminating: bool,
) -> dict[str, Any]:
    """The app summary: what ``gitward app get`` and the app page show."""
    source = app.spec.source
    return {
        "name": app.name,
        "project": app.spec.project,
        "parent": parent,
        "repoURL": redact_url(source.repo_url),
        "path": source.path,
        "chart": source.chart,
        "revision": revision,
        "destination": {
            "cluster": app.spec.destination.cluster,
            "namespace": app.spec.destination.namespace,
        },
        "automated": app.spec.sync_policy.automated is not None,
        "sync": (status.sync or SyncState()).to_dict(),
        "health": (status.health or HealthState()).to_dict(),
        "conditions": [c.to_dict() for c in status.conditions],
        "suspended": bool(status.suspended),
        "suspendReason": status.suspend_reason or "",
        "suspendedBy": suspended_by(status),  # spec | user | rollback | revision, "" when not
        # {message, windows, until}: a window holds automation back
        "syncWindow": status.sync_window.to_dict() if status.sync_window else None,
        "operation": status.operation,
        "resources": status.resources or [],
        # fields whose self-heal a drift fight paused, each with the ignoreDifferences entry ending it
        "driftFights": status.drift_fights or [],
        # objects no app manages in the app's namespaces, when its Project lists them; else None
        "orphanedResources": status.orphaned,
        "message": status.error or "",
        # the app's one current reason and message, and the step that failed ("" when none did)
        **current_reason(status),
        "labels": dict(app.metadata.labels),
        "running": running,
        "terminating": terminating,
    }


def current_reason(status: AppStatus) -> dict[str, str]:
    """``reason``, ``statusMessage``, ``step`` and ``stepDetail``: the Ready condition's reason and
    message (a status saved before they were kept at the top reads them from the condition)."""
    reason, message = status.reason, status.message
    if reason is None:
        ready = next((c for c in status.conditions if c.type is ConditionType.READY), None)
        reason, message = (ready.reason, ready.message) if ready is not None else ("", "")
    return {
        "reason": reason,
        "statusMessage": message or "",
        "step": status.step or "",
        "stepDetail": status.step_detail or "",
    }


def invalid_summary(name: str, message: str) -> dict[str, Any]:
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
        "driftFights": [],
        "orphanedResources": None,
        "message": message,
        "reason": "ValidationFailed",
        "statusMessage": message,
        "step": "validate",
        "stepDetail": "",
        "labels": {},
        "running": None,
        "terminating": False,
    }


def status_event(summary: dict[str, Any]) -> dict[str, Any]:
    """What the stream says about an app: enough to redraw its row and badges, small enough for
    thousands per second."""
    sync, health = summary.get("sync") or {}, summary.get("health") or {}
    operation = summary.get("running") or summary.get("operation")
    return {
        "app": summary["name"],
        "project": summary.get("project", ""),
        "sync": sync.get("status", "Unknown"),
        "revision": sync.get("revision", ""),
        "health": health.get("status", "Unknown"),
        "healthMessage": health.get("message", ""),
        "suspended": bool(summary.get("suspended")),
        "message": summary.get("message", ""),
        "reason": summary.get("reason", ""),
        "statusMessage": summary.get("statusMessage", ""),
        "step": summary.get("step", ""),
        "operation": None
        if not operation
        else {
            k: operation.get(k)
            for k in ("id", "phase", "message", "startedAt", "finishedAt", "trigger", "initiator")
        },
    }
