"""The gates in front of automation: suspension, sync windows (on a fake clock), manual overrides,
the wake-up at ``until``, and terminate requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.errors import Waiting
from gitward.model import Application, load_objects
from gitward.reconcile.gates import (
    Gates,
    NothingToStop,
    SuspendedBy,
    SuspendedByConfig,
    before_pass,
    follow_spec,
    follow_tracked,
    pin,
    request_terminate,
    resume,
    suspend,
)
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.summaries import app_summary
from gitward.reconcile.windowbook import WindowBook, check_windows

pytestmark = pytest.mark.unit

NIGHT = {
    "name": "night",
    "kind": "deny",
    "schedule": "0 22 * * *",
    "duration": "8h",
    "applications": ["web*"],
}


class FakeClock:
    def __init__(self, text: str) -> None:
        self.wall = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.wall


class FakeQueue:
    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    def add(self, name: str, *, priority: Any, reason: str) -> None:
        self.added.append((name, reason))


class World:
    def __init__(self, clock: str, *windows: dict[str, Any]) -> None:
        self.clock = FakeClock(clock)
        self.queue = FakeQueue()
        self.events: list[dict[str, Any]] = []
        self.gates = Gates(clock=self.clock, queue=self.queue, record_event=self._event)  # type: ignore[arg-type]
        doc = {"kind": "Project", "apiVersion": "gitward.dev/v1alpha1", "metadata": {"name": "prod"}}
        _, found = check_windows(load_objects([{**doc, "spec": {"syncWindows": list(windows)}}]))
        self.gates.book = WindowBook(found)

    def _event(self, app: str, **fields: Any) -> None:
        self.events.append({"app": app, **fields})


def runtime(name: str = "web", *, suspend_spec: bool = False) -> AppRuntime:
    spec = {
        "project": "prod",
        "source": {"repoURL": "https://git.example.com/a.git", "path": name, "revision": "main"},
        "destination": {"cluster": "c1", "namespace": name},
        "syncPolicy": {"automated": {"selfHeal": True}},
        "suspend": suspend_spec,
    }
    app = Application.model_validate({"metadata": {"name": name}, "spec": spec})
    return AppRuntime(app=app, status=AppStatus(), verdicts=VerdictCache(), inventory=[])


async def test_a_deny_window_holds_automation_back_says_until_when_and_wakes_the_app_then() -> None:
    world = World("2026-03-02T23:00:00Z", NIGHT)
    rt = runtime()
    assert world.gates.admit(rt, wanted=True) is False
    assert rt.status.to_dict()["syncWindow"] == {
        "message": "blocked by window night until 2026-03-03T06:00:00Z",
        "windows": ["night"],
        "until": world.clock.now() + 7 * 3600,
    }
    assert [e["message"] for e in world.events] == [
        "automated sync blocked by window night until 2026-03-03T06:00:00Z"
    ]
    assert world.gates.waiting() == {"web": world.clock.now() + 7 * 3600}
    world.clock.wall += 3600  # still inside: the same answer, no second event, the same wake-up
    assert world.gates.admit(rt, wanted=True) is False
    assert len(world.events) == 1
    world.clock.wall += 6 * 3600  # 06:00, the window closed
    assert world.gates.admit(rt, wanted=True) is True
    assert "syncWindow" not in rt.status.to_dict()
    assert world.gates.waiting() == {}
    world.gates.close()


async def test_the_wake_up_queues_the_app_when_the_window_closes() -> None:
    world = World("2026-03-03T05:59:59.8Z", NIGHT)
    rt = runtime()
    assert world.gates.admit(rt, wanted=True) is False
    for _ in range(200):  # the loop's timer fires after 0.2 s of the fake clock's lead plus a margin
        if world.queue.added:
            break
        await asyncio.sleep(0.05)
    assert world.queue.added == [("web", "window")]
    assert world.gates.waiting() == {}


async def test_nothing_wanted_or_suspended_takes_the_window_message_back() -> None:
    world = World("2026-03-02T23:00:00Z", NIGHT)
    rt = runtime()
    world.gates.admit(rt, wanted=True)
    assert world.gates.admit(rt, wanted=False) is False
    assert "syncWindow" not in rt.status.to_dict()
    assert world.gates.waiting() == {}
    world.gates.admit(rt, wanted=True)
    suspend(rt, initiator="alice")
    assert world.gates.admit(rt, wanted=True) is False
    assert "syncWindow" not in rt.status.to_dict()
    assert world.gates.book.evaluations == 1  # a suspended app does not ask the calendar
    world.gates.close()


async def test_an_allow_window_lets_automation_run_only_while_open() -> None:
    day = {"name": "day", "kind": "allow", "schedule": "0 8 * * 1-5", "duration": "10h", "clusters": ["c1"]}
    world = World("2026-03-02T09:00:00Z", day)  # a Monday
    rt = runtime()
    assert world.gates.admit(rt, wanted=True) is True
    world.clock.wall += 10 * 3600  # 19:00
    assert world.gates.admit(rt, wanted=True) is False
    assert rt.status.to_dict()["syncWindow"]["message"] == "blocked by window day until 2026-03-03T08:00:00Z"
    world.gates.close()


async def test_manual_syncs_in_a_deny_window_need_manual_sync() -> None:
    world = World("2026-03-02T23:00:00Z", NIGHT)
    with pytest.raises(Waiting) as refused:
        world.gates.check_manual(runtime())
    assert refused.value.reason == "SyncWindowBlocked"
    assert "blocked by window night until 2026-03-03T06:00:00Z" in refused.value.message
    assert refused.value.retry_after == 7 * 3600
    lenient = World("2026-03-02T23:00:00Z", {**NIGHT, "manualSync": True})
    verdict = lenient.gates.check_manual(runtime())
    assert verdict.allowed
    assert verdict.manual_override
    assert lenient.events[0]["message"].startswith("manual sync allowed by window night")
    assert lenient.gates.admit(runtime(), wanted=True) is False  # automation is still held back
    lenient.gates.close()


def test_suspend_and_resume_by_a_person() -> None:
    rt = runtime()
    assert suspend(rt, initiator="alice") is True
    assert rt.suspended
    assert rt.status.to_dict()["suspendedBy"] == SuspendedBy.USER
    assert "alice" in rt.status.to_dict()["suspendReason"]
    assert suspend(rt, initiator="bob") is False  # already: the first reason stays
    assert "alice" in rt.status.to_dict()["suspendReason"]
    assert resume(rt) is True
    assert not rt.suspended
    assert resume(rt) is False


def test_a_rollback_pins_and_resume_follows_the_branch_again() -> None:
    rt = runtime()
    pin(rt, revision="3f1c2a", by=SuspendedBy.ROLLBACK, reason="rolled back")
    assert rt.suspended
    assert rt.pinned_revision == "3f1c2a"
    assert resume(rt) is True
    assert rt.pinned_revision is None
    pin(rt, revision="v1", by=SuspendedBy.REVISION, reason="synced to v1")
    follow_tracked(rt)  # `app sync NAME` at the tracked revision
    assert not rt.suspended
    assert rt.pinned_revision is None


def test_spec_suspend_shows_in_status_and_only_the_configuration_lifts_it() -> None:
    rt = runtime(suspend_spec=True)
    follow_spec(rt)
    assert rt.suspended
    assert rt.status.to_dict()["suspendedBy"] == SuspendedBy.SPEC
    assert "spec.suspend" in rt.status.to_dict()["suspendReason"]
    with pytest.raises(SuspendedByConfig, match=r"spec\.suspend"):
        resume(rt)
    pin(rt, revision="3f1c2a", by=SuspendedBy.ROLLBACK, reason="rolled back")
    assert rt.status.to_dict()["suspendedBy"] == SuspendedBy.SPEC  # still the spec's reason, now pinned
    assert rt.pinned_revision == "3f1c2a"
    rt.app = runtime().app  # the configuration no longer suspends it
    follow_spec(rt)
    assert rt.suspended  # the pin holds it, as a suspension by revision
    assert rt.status.to_dict()["suspendedBy"] == SuspendedBy.REVISION
    follow_tracked(rt)
    follow_spec(rt)
    assert not rt.suspended


def test_a_status_from_before_suspended_by_is_a_rollback() -> None:
    rt = runtime()
    rt.status = AppStatus.from_dict(
        {"suspended": True, "suspendReason": "rolled back to history 3", "pinnedRevision": "3f1c2a"}
    )
    follow_spec(rt)
    assert rt.suspended
    assert resume(rt) is True
    assert rt.pinned_revision is None


async def test_terminate_needs_a_running_operation_and_a_stale_flag_is_dropped() -> None:
    rt = runtime()
    with pytest.raises(NothingToStop, match="nothing to stop"):
        request_terminate(rt, initiator="alice", now=1.0)
    assert rt.terminate_requested is False
    async with rt.lock:
        rt.operation = {"id": 7, "startedAt": 1.0, "revision": "main"}
        running = request_terminate(rt, initiator="alice", now=2.0)
        assert running["id"] == 7
        assert rt.terminate_requested is True
        reconciling = next(c for c in rt.status.to_dict()["conditions"] if c["type"] == "Reconciling")
        assert (reconciling["reason"], reconciling["message"]) == (
            "Terminating",
            "terminating (asked by alice)",
        )
        assert app_summary(rt)["terminating"] is True
    assert app_summary(rt)["terminating"] is False  # the operation ended before the executor saw the flag
    before_pass(rt)  # and the next pass drops it
    assert rt.terminate_requested is False
