"""Sync windows: when a project lets its apps sync, from allow and deny windows on a cron calendar.

A window is active at an instant when the instant lies in ``[start, start + duration)`` of one of its
cron occurrences (a duration is more than zero and at most ``MAX_OPEN_DAYS`` days), read in the
window's time zone (``policy.cron`` says how daylight saving time is handled). A window covers an
app when the app's name, its destination namespace or its cluster matches the window's globs (any
of them; all written ones with ``andOperator``). For one app, as Argo
CD documents it: an active deny window blocks; otherwise, when allow windows cover the app and none
is active, they block; otherwise the sync may run. The blocking windows are the active deny windows,
plus the covering allow windows when none of them is active; a manual sync may run anyway when every
blocking window has ``manualSync``. Automated syncs and self-heal never may.

``until`` on a verdict is the next instant at which the answer (may this sync run) changes, found by
walking the windows' boundaries (starts and ends) forward in time rather than minute by minute; it is
``None`` when nothing can change it (no covering window, or a manual sync that every covering window
lets through), or when no change is found within ``HORIZON_SECONDS`` or ``MAX_BOUNDARIES`` boundaries
or a window stays open for more than ``MAX_OPEN_DAYS`` (one that overlaps itself forever).

Deliberately not here: holding syncs back and saying so in status (reconcile/), the Project model
field (model/), ``syncOverrun`` (refused when parsed rather than ignored).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gitward.core.durations import format_duration, parse_duration
from gitward.policy.cron import Cron, next_start, parse_cron, previous_start, run_end
from gitward.policy.globs import allowed_by

#: Far enough to reach the next occurrence of any schedule that fires at all (29 February: 8 years).
HORIZON_SECONDS = (8 * 366 + 2) * 86400
MAX_BOUNDARIES = 1000
#: A window open longer than this without a break counts as open with no end in sight.
MAX_OPEN_DAYS = 400
_UTC_ZONE = ZoneInfo("UTC")
_KEYS = {
    "name",
    "kind",
    "schedule",
    "duration",
    "timeZone",
    "applications",
    "namespaces",
    "clusters",
    "manualSync",
    "andOperator",
    "description",
}


class WindowKind(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class SyncWindow:
    """One allow or deny window of a project; ``duration`` in seconds."""

    name: str
    kind: WindowKind
    schedule: Cron
    duration: float
    time_zone: ZoneInfo = _UTC_ZONE
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    and_operator: bool = False

    def covers(self, *, app: str, namespace: str, cluster: str) -> bool:
        """Whether the window applies to this app; lists left empty take no part (Argo CD's rule)."""
        checks = [
            allowed_by(patterns, value)
            for patterns, value in (
                (self.applications, app),
                (self.namespaces, namespace),
                (self.clusters, cluster),
            )
            if patterns
        ]
        return all(checks) if self.and_operator else any(checks)

    def describe(self) -> str:
        return (
            f"{self.kind} {self.schedule.text!r} for {format_duration(self.duration)} ({self.time_zone.key})"
        )

    def opened_at(self, at: float) -> int | None:
        """The start of the occurrence ``at`` lies in (the latest one when they overlap), else None."""
        start = previous_start(self.schedule, at, self.time_zone, lookback=self.duration)
        return start if start is not None and at < start + self.duration else None

    def closes_at(self, opened: int) -> float | None:
        """When the window, open since ``opened``, next closes: overlapping occurrences keep it open.
        ``None`` when it stays open for more than ``MAX_OPEN_DAYS``."""
        return run_end(self.schedule, opened, self.time_zone, duration=self.duration, max_days=MAX_OPEN_DAYS)

    def next_change(self, at: float) -> float | None:
        """The next instant after ``at`` at which the window opens or closes."""
        opened = self.opened_at(at)
        if opened is not None:
            return self.closes_at(opened)
        return next_start(self.schedule, at, self.time_zone, horizon=HORIZON_SECONDS)


def parse_window(spec: Mapping[str, Any], *, index: int = 0) -> SyncWindow:
    """A window from its YAML form (Argo CD's field names); ``ValueError`` names the window and field."""
    kind_text = spec.get("kind")
    label = str(spec.get("name") or f"{kind_text}-{index}")
    try:
        return _parse(spec, label)
    except ValueError as err:
        raise ValueError(f"sync window {label}: {err}") from None


def parse_windows(specs: Iterable[Mapping[str, Any]]) -> tuple[SyncWindow, ...]:
    return tuple(parse_window(spec, index=i) for i, spec in enumerate(specs))


def _parse(spec: Mapping[str, Any], label: str) -> SyncWindow:
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]} (known: {', '.join(sorted(_KEYS))})")
    if spec.get("kind") not in ("allow", "deny"):
        raise ValueError(f"kind: must be allow or deny, not {spec.get('kind')!r}")
    schedule = parse_cron(_text(spec, "schedule"))
    duration = _duration(spec.get("duration"))
    globs = {field: _globs(spec, field) for field in ("applications", "namespaces", "clusters")}
    if not any(globs.values()):
        raise ValueError("applications, namespaces, clusters: at least one must list a glob")
    return SyncWindow(
        name=label,
        kind=WindowKind(spec["kind"]),
        schedule=schedule,
        duration=duration,
        time_zone=_zone(spec.get("timeZone", "UTC")),
        applications=globs["applications"],
        namespaces=globs["namespaces"],
        clusters=globs["clusters"],
        manual_sync=_flag(spec, "manualSync"),
        and_operator=_flag(spec, "andOperator"),
    )


def _text(spec: Mapping[str, Any], field: str) -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: required, a string")
    return value


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("duration: required, a duration such as 1h or 30m")
    try:
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
    except (ValueError, OverflowError) as err:  # OverflowError: an int beyond float range
        raise ValueError(f"duration: {err}") from None
    # NaN, infinity and durations of centuries passed "greater than zero" and then broke the walk
    # over the calendar (OverflowError); a window open longer than MAX_OPEN_DAYS never closes anyway.
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_OPEN_DAYS * 86400):
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:40]}..."
        raise ValueError(f"duration: must be greater than zero and at most {MAX_OPEN_DAYS} days, not {shown}")
    return seconds


def _zone(value: Any) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise ValueError(f"timeZone: must be an IANA time zone name such as Europe/Berlin, not {value!r}")
    try:
        return ZoneInfo(value)
    except (KeyError, ValueError, OSError):
        raise ValueError(
            f"timeZone: unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
        ) from None


def _globs(spec: Mapping[str, Any], field: str) -> tuple[str, ...]:
    value = spec.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{field}: must be a list of globs")
    return tuple(value)


def _flag(spec: Mapping[str, Any], field: str) -> bool:
    value = spec.get(field, False)
    if not isinstance(value, bool):
        raise ValueError(f"{field}: must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class WindowVerdict:
    """May this sync run now; which windows block it (or were overridden by a manual sync); until when."""

    allowed: bool
    blocked_by: tuple[SyncWindow, ...] = ()
    manual_override: bool = False
    until: datetime | None = None

    def message(self) -> str:
        """What an app's status says, e.g. ``blocked by window deny-0 until 2026-03-29T03:30:00Z``."""
        when = f" until {self.until.strftime('%Y-%m-%dT%H:%M:%SZ')}" if self.until else ""
        names = ", ".join(w.name for w in self.blocked_by)
        if not self.allowed:
            return f"blocked by window {names}{when}"
        if self.manual_override:
            return f"manual sync allowed by window {names}{when}"
        return f"allowed{when}"


def evaluate(
    windows: Sequence[SyncWindow],
    *,
    app: str,
    namespace: str,
    cluster: str,
    at: datetime,
    manual: bool = False,
) -> WindowVerdict:
    """May a sync of this app run at ``at`` (a time-zone-aware instant)? ``manual`` for a user's sync."""
    now = _instant(at)
    covering = [w for w in windows if w.covers(app=app, namespace=namespace, cluster=cluster)]
    allowed, blocking, override = _decide(covering, now, manual=manual)
    until = _next_verdict_change(covering, now, allowed, manual=manual)
    return WindowVerdict(
        allowed, blocking, override, None if until is None else datetime.fromtimestamp(until, UTC)
    )


def _decide(
    covering: Sequence[SyncWindow], at: float, *, manual: bool
) -> tuple[bool, tuple[SyncWindow, ...], bool]:
    """(allowed, blocking windows, allowed only as a manual override) at one instant."""
    active = [w.opened_at(at) is not None for w in covering]
    blocking = [w for w, on in zip(covering, active, strict=True) if on and w.kind is WindowKind.DENY]
    allows = [(w, on) for w, on in zip(covering, active, strict=True) if w.kind is WindowKind.ALLOW]
    if allows and not any(on for _, on in allows):
        blocking.extend(w for w, _ in allows)
    if not blocking:
        return True, (), False
    if manual and all(w.manual_sync for w in blocking):
        return True, tuple(blocking), True
    return False, tuple(blocking), False


def _next_verdict_change(
    covering: Sequence[SyncWindow], at: float, allowed: bool, *, manual: bool
) -> float | None:
    """Walk the windows' boundaries forward until the answer differs; each window's next one is cached."""
    if not covering or (manual and all(w.manual_sync for w in covering)):
        return None  # nothing can block this sync, now or later
    changes = {i: w.next_change(at) for i, w in enumerate(covering)}
    for _ in range(MAX_BOUNDARIES):
        pending = [t for t in changes.values() if t is not None and t <= at + HORIZON_SECONDS]
        if not pending:
            return None
        now = min(pending)
        if _decide(covering, now, manual=manual)[0] != allowed:
            return now
        for i, t in changes.items():
            if t == now:
                changes[i] = covering[i].next_change(now)
    return None


@dataclass(frozen=True)
class WindowState:
    """One window at an instant: open since ``opened`` until ``closes`` (None: beyond the bound), or
    closed until ``next_open``."""

    window: SyncWindow
    active: bool
    opened: datetime | None = None
    closes: datetime | None = None
    next_open: datetime | None = None


def window_states(windows: Sequence[SyncWindow], *, at: datetime) -> tuple[WindowState, ...]:
    """Every window of a project at ``at``, for ``gitward project windows NAME``."""
    now = _instant(at)
    out = []
    for window in windows:
        opened = window.opened_at(now)
        if opened is None:
            nxt = next_start(window.schedule, now, window.time_zone, horizon=HORIZON_SECONDS)
            out.append(WindowState(window, False, next_open=_utc(nxt)))
        else:
            out.append(WindowState(window, True, opened=_utc(opened), closes=_utc(window.closes_at(opened))))
    return tuple(out)


def active_windows(windows: Sequence[SyncWindow], *, at: datetime) -> tuple[WindowState, ...]:
    """The windows open at ``at``."""
    return tuple(s for s in window_states(windows, at=at) if s.active)


def _instant(at: datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at: must be a time-zone-aware datetime")
    return at.timestamp()


def _utc(instant: float | None) -> datetime | None:
    return None if instant is None else datetime.fromtimestamp(instant, UTC)
