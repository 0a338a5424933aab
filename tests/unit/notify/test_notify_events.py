"""Telling what happened from the statuses the engine saves: each thing told once, nothing stored
told again after a restart."""

from __future__ import annotations

from typing import Any

from gitward.model import Application
from gitward.notify.events import Transitions

A, B = "a" * 40, "b" * 40


def app(name: str = "web", project: str = "default") -> Application:
    return Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "project": project,
                "source": {"repoURL": "https://git.example.com/org/apps.git", "path": "web"},
                "destination": {"cluster": "local", "namespace": "web"},
            },
        }
    )


def status(
    *, op: dict[str, Any] | None = None, sync: str = "Synced", health: str = "Healthy", commit: str = A
) -> dict[str, Any]:
    return {
        "sync": {"status": sync, "revision": commit},
        "health": {"status": health, "message": "crash looping" if health == "Degraded" else ""},
        "commit": commit,
        "operation": op,
    }


def op(id: int, phase: str, *, commit: str = A, count: int = 1, **more: Any) -> dict[str, Any]:
    return {"id": id, "phase": phase, "commit": commit, "message": more.pop("message", ""), "count": count,
            "finishedAt": 100.0 + id, **more}  # fmt: skip


def triggers(t: Transitions, st: dict[str, Any], *, now: float = 200.0) -> list[str]:
    return [e.trigger for e in t.observe(app(), st, now=now)]


def test_a_finished_operation_is_told_once_with_its_own_commit() -> None:
    t = Transitions(started_at=0.0)
    events = t.observe(app(), status(op=op(1, "Failed", commit=B, message="refused"), commit=A), now=1.0)
    assert [(e.trigger, e.commit, e.message) for e in events] == [("SyncFailed", B, "refused")]
    assert triggers(t, status(op=op(1, "Failed", commit=B, message="refused"), sync="OutOfSync")) == []
    assert triggers(t, status(op=op(2, "Succeeded", commit=B))) == ["SyncSucceeded"]


def test_a_retried_failure_of_the_same_commit_and_message_is_told_once() -> None:
    t = Transitions(started_at=0.0)
    assert triggers(t, status(op=op(1, "Failed", message="refused"))) == ["SyncFailed"]
    assert triggers(t, status(op=op(2, "Failed", message="refused"))) == []
    assert triggers(t, status(op=op(3, "Error", message="other"))) == ["SyncFailed"]
    assert triggers(t, status(op=op(4, "Failed", commit=B, message="other"))) == ["SyncFailed"]
    assert triggers(t, status(op=op(5, "Terminated"))) == []


def test_a_heal_after_drift_is_drift_healed_and_a_folded_heal_is_not_told_again() -> None:
    t = Transitions(started_at=0.0)
    assert triggers(t, status(op=op(1, "Succeeded"))) == ["SyncSucceeded"]
    t.drift("web", "ConfigMap web/web changed out of band by intruder: /data/color")
    events = t.observe(app(), status(op=op(2, "Succeeded", trigger="drift")), now=2.0)
    assert [e.trigger for e in events] == ["DriftHealed"]
    assert "intruder" in events[0].message
    assert triggers(t, status(op=op(2, "Succeeded", count=2, trigger="drift"))) == []
    # a person's sync is theirs, even after drift; a new commit is a deployment
    t.drift("web", "changed again")
    assert triggers(t, status(op=op(3, "Succeeded", initiator="alice"))) == ["SyncSucceeded"]
    t.drift("web", "changed again")
    assert triggers(t, status(op=op(4, "Succeeded", commit=B))) == ["SyncSucceeded"]


def test_health_degraded_is_told_once_per_stretch() -> None:
    t = Transitions(started_at=0.0)
    events = t.observe(app(), status(health="Degraded"), now=1.0)
    assert [(e.trigger, e.message) for e in events] == [("HealthDegraded", "crash looping")]
    assert triggers(t, status(health="Degraded", sync="OutOfSync")) == []
    assert triggers(t, status(health="Healthy")) == []
    assert triggers(t, status(health="Degraded")) == ["HealthDegraded"]


def test_out_of_sync_stretches_start_when_seen_and_end_when_synced() -> None:
    t = Transitions(started_at=0.0)
    t.observe(app(), status(sync="OutOfSync"), now=10.0)
    t.observe(app(), status(sync="OutOfSync", health="Progressing"), now=20.0)
    assert [(since, facts.app) for since, facts in t.out_of_sync()] == [(10.0, "web")]
    t.observe(app(), status(sync="Synced"), now=30.0)
    assert t.out_of_sync() == []


def test_what_was_stored_before_a_restart_is_not_told_again() -> None:
    stored = status(op=op(7, "Failed", message="refused"), health="Degraded")
    t = Transitions(started_at=500.0)
    t.seed(app(), stored, now=500.0)
    assert triggers(t, stored, now=501.0) == []
    # an app first seen after the start (a child app) only has operations finished since told
    other = Transitions(started_at=500.0)
    assert other.observe(app(), status(op=op(1, "Failed")), now=501.0) == []
    assert [e.trigger for e in other.observe(app(), status(op=op(2, "Failed") | {"finishedAt": 502.0}),
                                               now=502.0)] == ["SyncFailed"]  # fmt: skip
