"""The sync windows of every project, read once at load, and each app's verdict, cached until it changes.

Reading: a Project's ``syncWindows`` are parsed by ``policy.windows`` when the configuration is
loaded (``check_windows``). A window that cannot be read (a bad schedule, duration or time zone)
refuses its whole Project, naming the window and the field: an app whose deny window did not parse
must not sync as if the window were not there, and without its Project it syncs nothing at all.

Asking: ``WindowBook.verdict`` answers whether a sync of an app may run now. The calendar costs
a fraction of a millisecond per window, too much for every drift event of every app, so a verdict
is kept until its ``until`` (the next instant the answer changes; at most ``MAX_CACHE_SECONDS`` when
nothing ahead changes it) and keyed by what it depends on (the app's project, namespace and
cluster, and whether the sync is manual). A project without windows answers at once. While a
verdict holds, the windows that block may change without the answer changing (one deny window
closes while another stays open); the cached message then names the windows open when it was made.

Deliberately not here: holding syncs back and saying so in status (``reconcile/gates.py``), the
calendar itself (``policy/windows.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitward.core.durations import format_duration
from gitward.model import Application, LoadedConfig, ObjectError, Project
from gitward.policy.windows import (
    SyncWindow,
    WindowState,
    WindowVerdict,
    evaluate,
    parse_window,
    window_states,
)

#: How long a verdict with no ``until`` is kept (the calendar's own bounds may hide a far change).
MAX_CACHE_SECONDS = 3600.0
ALLOWED = WindowVerdict(allowed=True)


def project_windows(project: Project) -> tuple[SyncWindow, ...]:
    """The project's windows; ``ValueError`` names the first bad one as ``spec.syncWindows[i]``."""
    out = []
    for index, spec in enumerate(project.spec.sync_windows):
        try:
            out.append(parse_window(spec.document(), index=index))
        except ValueError as err:
            raise ValueError(f"spec.syncWindows[{index}]: {err}") from None
    return tuple(out)


def check_windows(config: LoadedConfig) -> tuple[LoadedConfig, dict[str, tuple[SyncWindow, ...]]]:
    """The config without the Projects whose windows cannot be read (each becomes an error), and the
    windows of every Project kept."""
    kept: list[Project] = []
    errors: list[ObjectError] = []
    windows: dict[str, tuple[SyncWindow, ...]] = {}
    for project in config.projects:
        try:
            windows[project.name] = project_windows(project)
        except ValueError as err:
            errors.append(ObjectError("Project", project.name, str(err)))
            continue
        kept.append(project)
    if not errors:
        return config, windows
    return dataclasses.replace(config, projects=tuple(kept), errors=config.errors + tuple(errors)), windows


@dataclass(frozen=True)
class _Cached:
    scope: tuple[str, str, str]  # project, namespace, cluster: what the verdict was computed for
    verdict: WindowVerdict
    expires: float  # epoch seconds


class WindowBook:
    """Windows per project name; verdicts per app, cached until they may change."""

    def __init__(self, windows: Mapping[str, tuple[SyncWindow, ...]] | None = None) -> None:
        self.windows = {name: found for name, found in (windows or {}).items() if found}
        self._cache: dict[tuple[str, bool], _Cached] = {}
        self.evaluations = 0  # calendar evaluations made (the cache's misses)

    def of(self, project: str) -> tuple[SyncWindow, ...]:
        return self.windows.get(project, ())

    def verdict(self, app: Application, *, at: float, manual: bool = False) -> WindowVerdict:
        """May a sync of ``app`` run at ``at`` (epoch seconds)? ``manual``: a person asked for it."""
        spec = app.spec
        windows = self.windows.get(spec.project)
        if not windows:
            return ALLOWED
        scope = (spec.project, spec.destination.namespace, spec.destination.cluster)
        key = (app.name, manual)
        cached = self._cache.get(key)
        if cached is not None and cached.scope == scope and at < cached.expires:
            return cached.verdict
        self.evaluations += 1
        verdict = evaluate(
            windows,
            app=app.name,
            namespace=scope[1],
            cluster=scope[2],
            at=datetime.fromtimestamp(at, UTC),
            manual=manual,
        )
        expires = verdict.until.timestamp() if verdict.until is not None else at + MAX_CACHE_SECONDS
        self._cache[key] = _Cached(scope, verdict, expires)
        return verdict

    def states(self, project: str, *, at: float) -> tuple[WindowState, ...]:
        """Every window of ``project`` at ``at``: open or closed, and until when."""
        return window_states(self.of(project), at=datetime.fromtimestamp(at, UTC))


def window_view(state: WindowState, apps: Sequence[Application]) -> dict[str, Any]:
    """One window for ``gitward project windows``: as written, open or closed (times in epoch
    seconds), and which of ``apps`` it covers."""
    window = state.window
    covered = [
        app.name
        for app in apps
        if window.covers(
            app=app.name, namespace=app.spec.destination.namespace, cluster=app.spec.destination.cluster
        )
    ]
    return {
        "name": window.name,
        "kind": window.kind.value,
        "schedule": window.schedule.text,
        "duration": format_duration(window.duration),
        "timeZone": window.time_zone.key,
        "applications": list(window.applications),
        "namespaces": list(window.namespaces),
        "clusters": list(window.clusters),
        "manualSync": window.manual_sync,
        "andOperator": window.and_operator,
        "active": state.active,
        "opened": _epoch(state.opened),
        "closes": _epoch(state.closes),
        "nextOpen": _epoch(state.next_open),
        "apps": sorted(covered),
    }


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
