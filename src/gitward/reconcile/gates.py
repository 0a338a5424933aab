"""The gates in front of a sync: suspension, sync windows, and requests to stop a running operation.

Automation (an automated sync, a retry, a self-heal) passes ``Gates.admit`` after the pass decided
it wants to apply. It is held back when:
- the app is suspended: by ``spec.suspend`` (``follow_spec`` keeps the status in step with the
  spec), by a person (``gitward app suspend``), or by a rollback or a sync to another revision, which
  also pin the revision. One status shape for all of them (``status.mark_suspended``), so
  ``gitward app get`` shows the same "Suspended" whatever did it. ``resume`` (or a sync of the
  tracked revision) lifts every suspension except ``spec.suspend``, which only the configuration lifts;
- a sync window of its project blocks it (``windowbook``): the status says "blocked by window NAME
  until TIME", an event says it once, and the app is queued again at that time, so a change that
  waited is applied when the window opens without any other trigger.
A pass that wants nothing takes back whatever a window showed, so a message never outlives its
cause. Deciding costs nothing on a no-op pass: the windows are asked only when a sync is wanted,
and their verdict is cached until it changes.

A manual sync (``app sync``, ``app rollback``) is not automation: it runs while suspended, and inside
a deny window only when every blocking window has ``manualSync`` (``check_manual``); otherwise it is
refused before anything is fetched, with the window and the time it closes.

A terminate request (``request_terminate``) only sets ``AppRuntime.terminate_requested`` and shows
"terminating" in the status: the executor checks the flag between steps and during waits, stops,
records the operation Terminated and clears the flag. With no operation running there is nothing to
stop, and the caller is told so instead of leaving a flag that would stop the next sync. A flag that
outlived its operation (it ended on its own just after the request) is dropped by ``before_pass``,
which runs before a pass decides to sync, when no operation of the app can be running.

Deliberately not here: the calendar (``policy/windows.py``), stopping the operation (the executor).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable

from gitward.core.appstatus import (
    clear_suspended,
    clear_window_blocked,
    mark_suspended,
    mark_terminating,
    mark_window_blocked,
    suspended_by,
)
from gitward.core.clock import Clock
from gitward.core.errors import GitwardError, Waiting
from gitward.policy.windows import WindowVerdict
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.summaries import running_operation
from gitward.reconcile.windowbook import WindowBook

#: Past the instant a window changes, so the pass it wakes sees the new answer (the loop's timer and
#: the wall clock drift apart by a little).
WAKE_MARGIN = 0.05


class SuspendedBy(enum.StrEnum):
    SPEC = "spec"
    USER = "user"
    ROLLBACK = "rollback"
    REVISION = "revision"


SPEC_REASON = "spec.suspend is true in the configuration"


class NothingToStop(GitwardError):
    reason = "NoOperationRunning"


class SuspendedByConfig(GitwardError):
    reason = "SuspendedByConfiguration"


# -- suspension ---------------------------------------------------------------------------------------


def follow_spec(rt: AppRuntime) -> None:
    """Show ``spec.suspend`` in the status, and take it back once the spec no longer says it (a pin
    made meanwhile stays, as a suspension by revision)."""
    by = suspended_by(rt.status)
    if rt.app.spec.suspend:
        if by != SuspendedBy.SPEC:
            mark_suspended(rt.status, by=SuspendedBy.SPEC, reason=SPEC_REASON)
    elif by == SuspendedBy.SPEC:
        pinned = rt.pinned_revision
        if pinned:
            mark_suspended(rt.status, by=SuspendedBy.REVISION, reason=f"pinned to {pinned}")
        else:
            clear_suspended(rt.status)


def suspend(rt: AppRuntime, *, initiator: str) -> bool:
    """A person suspends automation; False when it already was (the reason shown is kept)."""
    if rt.suspended:
        return False
    who = f" by {initiator}" if initiator else ""
    mark_suspended(
        rt.status, by=SuspendedBy.USER, reason=f"suspended{who}; `gitward app resume {rt.name}` resumes"
    )
    return True


def resume(rt: AppRuntime) -> bool:
    """Automation on again, at the tracked revision; False when it was not suspended."""
    if suspended_by(rt.status) == SuspendedBy.SPEC:
        raise SuspendedByConfig(
            f"application {rt.name!r} is suspended by its configuration (spec.suspend: true); "
            "set spec.suspend to false there to resume it"
        )
    if not rt.suspended:
        return False
    clear_suspended(rt.status)
    return True


def pin(rt: AppRuntime, *, revision: str, by: SuspendedBy, reason: str) -> None:
    """A rollback or a sync to another revision: keep the app there, automation off until resumed."""
    if suspended_by(rt.status) == SuspendedBy.SPEC:
        rt.status.pinned_revision = revision  # still suspended by the spec; its reason stays
    else:
        mark_suspended(rt.status, by=by, reason=reason, pinned=revision)


def follow_tracked(rt: AppRuntime) -> None:
    """A sync of the tracked revision: the pin is dropped and, unless the spec says so, automation resumes."""
    if suspended_by(rt.status) == SuspendedBy.SPEC:
        rt.status.pinned_revision = None
    else:
        clear_suspended(rt.status)


# -- terminate ----------------------------------------------------------------------------------------


def request_terminate(rt: AppRuntime, *, initiator: str, now: float) -> dict[str, object]:
    """Ask the running operation to stop at its next step; ``NothingToStop`` when none runs."""
    running = running_operation(rt)
    if running is None:
        raise NothingToStop(f"application {rt.name!r} has no operation running: nothing to stop")
    rt.terminate_requested = True
    mark_terminating(rt.status, now=now, by=initiator)
    return running


def before_pass(rt: AppRuntime) -> None:
    """Called with the app's lock held, before a pass decides to sync: no operation of the app runs
    now, so a terminate flag still set belongs to one that already ended."""
    rt.terminate_requested = False
    follow_spec(rt)


# -- windows ------------------------------------------------------------------------------------------


class Gates:
    """The window book, and the wake-ups of apps a window holds back; one per engine."""

    def __init__(
        self,
        *,
        clock: Clock,
        queue: WorkQueue,
        record_event: Callable[..., None],
    ) -> None:
        self.clock = clock
        self.book = WindowBook()
        self._queue = queue
        self._record_event = record_event  # PipelineContext.record_event
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}

    def admit(self, rt: AppRuntime, *, wanted: bool) -> bool:
        """Whether automation may apply now, given that it ``wanted`` to; says why not in the status."""
        if not wanted or rt.suspended:
            self._release(rt)
            return False
        verdict = self.book.verdict(rt.app, at=self.clock.now())
        if verdict.allowed:
            self._release(rt)
            return True
        until = verdict.until.timestamp() if verdict.until is not None else None
        names = [w.name for w in verdict.blocked_by]
        if mark_window_blocked(rt.status, message=verdict.message(), windows=names, until=until):
            self._record(rt.name, f"automated sync {verdict.message()}")
        if until is not None:
            self._wake_at(rt.name, until)
        return False

    def check_manual(self, rt: AppRuntime) -> WindowVerdict:
        """A person's sync: refused (``Waiting`` until the window closes) unless every window that
        blocks it allows manual syncs."""
        now = self.clock.now()
        verdict = self.book.verdict(rt.app, at=now, manual=True)
        if not verdict.allowed:
            retry = verdict.until.timestamp() - now if verdict.until is not None else 3600.0
            raise Waiting(
                f"manual sync of {rt.name!r} {verdict.message()} (the window does not allow manual syncs)",
                retry_after=max(retry, 1.0),
                reason="SyncWindowBlocked",
            )
        if verdict.manual_override:
            self._record(rt.name, verdict.message())
        return verdict

    def _release(self, rt: AppRuntime) -> None:
        clear_window_blocked(rt.status)
        timer = self._timers.pop(rt.name, None)
        if timer is not None:
            timer[1].cancel()

    def _wake_at(self, name: str, until: float) -> None:
        current = self._timers.get(name)
        if current is not None:
            if current[0] == until:
                return
            current[1].cancel()
        delay = max(until - self.clock.now(), 0.0) + WAKE_MARGIN
        handle = asyncio.get_running_loop().call_later(delay, self._fire, name, until)
        self._timers[name] = (until, handle)

    def _fire(self, name: str, until: float) -> None:
        current = self._timers.get(name)
        if current is not None and current[0] == until:
            del self._timers[name]
        self._queue.add(name, priority=Priority.INTERVAL, reason="window")  # its pass decides again

    def _record(self, app: str, message: str) -> None:
        self._record_event(app, type="Normal", reason="SyncWindow", message=message)

    def waiting(self) -> dict[str, float]:
        """The apps a window holds back, and when each is woken (epoch seconds)."""
        return {name: until for name, (until, _) in self._timers.items()}

    def close(self) -> None:
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
