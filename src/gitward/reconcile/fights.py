"""Drift fights in a pass: which drifted fields self-heal leaves alone, and what the app says about it.

The book (``diff/fights.py``) decides; this module applies it to one pass:
- ``hold``, after the drift journal: a field another manager changed again after ``heals`` heals
  within the window starts a fight (one ``DriftFight`` event naming the object, the field, the
  manager and the ``ignoreDifferences`` entry that would end it); a field whose pause runs is held.
  An object whose only drift is held is not a reason to self-heal.
- ``kept_fields``: what an automated sync sends with its live value (as RespectIgnoreDifferences
  does), so healing the rest of the object, or a new commit, leaves the fought field alone.
- ``after_sync``: a heal counts, per field and manager; a person's sync writes every field as Git
  has it and starts the counts of the objects it wrote again.
- ``shown``: the fights on the status (``driftFights``, restored from it after a restart), and the
  rows and Ready message of an app whose only difference from Git is a held field.
- ``resume_at``: when the earliest pause ends, so the app is looked at (and the field healed) then.

Deliberately not here: counting and backoff (``diff/fights.py``), reading drift (``drift.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.changes import Change
from gitward.core.keys import ResourceKey
from gitward.diff.fights import Fight, FightBook
from gitward.reconcile.context import PipelineContext
from gitward.reconcile.runtime import AppRuntime

REASON = "DriftFight"


def book(ctx: PipelineContext, rt: AppRuntime) -> FightBook:
    """The app's book, made at its first pass from the fights its status kept."""
    if rt.fights is None:
        rt.fights = FightBook(ctx.settings.drift_fights)
        rt.fights.restore(rt.status.drift_fights or ())
    return rt.fights


def hold(ctx: PipelineContext, rt: AppRuntime, *, self_heal: bool) -> set[ResourceKey]:
    """Record new fights and hold their fields; the objects whose every drifted field is held."""
    fights, now = book(ctx, rt), ctx.clock.now()
    held: dict[ResourceKey, tuple[str, ...]] = {}
    for key, drift in rt.drifted.items():
        paused: list[str] = []
        for path in drift.paths:
            manager = drift.managers.get(path, "")
            if fights.is_paused(key.id, path, now=now):
                paused.append(path)
                continue
            fight = fights.observe(key.id, path, manager, now=now) if self_heal else None
            if fight is not None:
                paused.append(path)
                _record(ctx, rt, key, fight)
        if paused:
            held[key] = tuple(paused)
    rt.held = held
    return {
        k for k, paths in held.items() if set(rt.drifted[k].paths) <= set(paths) and not rt.drifted[k].own
    }


def kept_fields(
    ctx: PipelineContext, rt: AppRuntime, keys: Iterable[ResourceKey]
) -> dict[ResourceKey, list[str]]:
    """The paused fields of each object, for an automated sync to send with their live values."""
    fights, now = book(ctx, rt), ctx.clock.now()
    out: dict[ResourceKey, list[str]] = {}
    for key in keys:
        paused = fights.paused(key.id, now=now)
        if paused:
            out[key] = paused
    return out


def after_sync(ctx: PipelineContext, rt: AppRuntime, changes: Iterable[Change], *, asked: bool) -> None:
    """Count the heals this sync made (per drifted field not held), or, for a sync a person asked
    for, start the counts of the objects it wrote again."""
    fights, now = book(ctx, rt), ctx.clock.now()
    written = [c.key for c in changes if c.action.is_write]
    if asked:
        fights.forget(key.id for key in written)
        rt.held = {k: v for k, v in rt.held.items() if k not in set(written)}  # written as Git has them
        return
    for key in written:
        drift = rt.drifted.get(key)
        if drift is None:
            continue
        held = set(rt.held.get(key, ()))
        for path in drift.paths:
            if path not in held:
                fights.healed(key.id, path, drift.managers.get(path, ""), now=now)


def shown(ctx: PipelineContext, rt: AppRuntime) -> dict[ResourceKey, str]:
    """Put the running fights on the status; the message of each object with a held field."""
    fights = book(ctx, rt).active(now=ctx.clock.now())
    rt.status.drift_fights = [f.to_dict() for f in fights] or None
    by_id = {(f.object_id, f.field): f for f in fights}
    out: dict[ResourceKey, str] = {}
    for key, paths in rt.held.items():
        parts = [_field_note(by_id.get((key.id, p)), p) for p in paths]
        out[key] = "drift fight: " + "; ".join(parts)
    return out


def ready_message(rt: AppRuntime) -> str:
    """The app's Ready message while held fields are its only difference from Git."""
    rows = rt.status.drift_fights or []
    held = {(k.id, p) for k, paths in rt.held.items() for p in paths}
    parts = [_summary(row) for row in rows if (row.get("object"), row.get("field")) in held]
    return "; ".join(parts) or "drift fight: self-heal of a field is paused"


def resume_at(ctx: PipelineContext, rt: AppRuntime) -> float | None:
    """When (epoch seconds) the earliest pause of the app ends, if one runs."""
    return book(ctx, rt).next_resume(now=ctx.clock.now()) if rt.fights is not None else None


def _record(ctx: PipelineContext, rt: AppRuntime, key: ResourceKey, fight: Fight) -> None:
    row = fight.to_dict()
    ctx.record_event(
        rt.name,
        type="Warning",
        reason=REASON,
        message=f"{key}: {_summary(row)}",
        object_id=key.id,
        fields=[fight.field],
        manager=fight.manager,
    )


def _field_note(fight: Fight | None, path: str) -> str:
    if fight is None:
        return f"{path} (self-heal paused)"
    return f"{path} changed by {fight.manager} (self-heal paused until {_clock(fight.paused_until)})"


def _summary(row: Mapping[str, Any]) -> str:
    """One sentence: what is fought, by whom, until when, and the entry that ends it."""
    suggestion = row.get("suggestion") or {}
    entry = (suggestion.get("ignoreDifferences") or [{}])[0]
    by_manager = suggestion.get("orByManager") or {}
    heals = int(row.get("heals") or 0)
    after = f" after {heals} heal{'s' if heals != 1 else ''}" if heals else ""
    return (
        f"{row.get('field')} of {row.get('kind')} {_where(row)} was changed back by "
        f"{row.get('manager')}{after}; self-heal of that field is paused until "
        f"{_clock(float(row.get('pausedUntil') or 0))} (the rest of the app still heals). "
        f"To leave it to {row.get('manager')}, add to spec.ignoreDifferences: {_flow(entry)} "
        f"(or {_flow(by_manager)})"
    )


def _where(row: Mapping[str, Any]) -> str:
    return f"{row.get('namespace')}/{row.get('name')}" if row.get("namespace") else str(row.get("name"))


def _flow(entry: Mapping[str, Any]) -> str:
    """A YAML flow mapping, as a user pastes it."""
    parts = []
    for name, value in entry.items():
        if isinstance(value, list):
            parts.append(f"{name}: [{', '.join(str(v) for v in value)}]")
        else:
            parts.append(f"{name}: {value}" if value else f'{name}: ""')
    return "{" + ", ".join(parts) + "}"


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
