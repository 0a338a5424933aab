"""An app's summary from its runtime: what only the running engine knows (the operation a pass has
started and not finished, a terminate request, the pin) added to the pure summary (``appview``)."""

from __future__ import annotations

from typing import Any

from gitward.appview import summary_of
from gitward.reconcile.runtime import AppRuntime


def app_summary(rt: AppRuntime) -> dict[str, Any]:
    running = running_operation(rt)
    return summary_of(
        rt.app,
        rt.status,
        parent=rt.parent,
        revision=rt.pinned_revision or rt.app.spec.source.revision,
        running=running,
        # A request outlives an operation that ended on its own only until the next pass drops it.
        terminating=rt.terminate_requested and running is not None,
    )


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
