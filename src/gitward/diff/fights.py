"""Drift fights: another field manager keeps changing a field Git sets, and self-heal keeps setting it back.

An autoscaler, an operator or a person's script that owns a field gitward also sets makes every heal
pointless: the field flips back within seconds, forever, and each flip is a write on both sides. The
book counts, per object and field, the heals gitward made after changes by one manager. When that
manager changes the field again after ``heals`` heals within ``window`` seconds, it is a fight:
self-heal of that one field pauses for ``pause`` seconds (the rest of the app, and the rest of the
object, still heal), then tries once more; a manager that changes it again after that retry starts a
fight again at once, with the pause doubled, up to ``max_pause``. A field nobody changed for a whole
window after its last heal is forgotten: the fight is over.

Only the same manager counts: a field flipped by two different writers is two stories, each starting
from zero. A change no manager owns (a field removed) cannot be attributed and is never a fight.

Pure: the caller passes the time (``Clock.now()``, epoch seconds) and does the healing, the events and
the status (``reconcile/fights.py``). Deliberately not here: what to suggest (``suggestion``) is
plain data for the caller to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.core.keys import ResourceKey


@dataclass(frozen=True)
class FightSettings:
    """``heals`` 0 turns fight detection off (every change is healed, as before it existed)."""

    heals: int = 3
    window: float = 600.0
    pause: float = 300.0
    max_pause: float = 3600.0

    def pause_for(self, strikes: int) -> float:
        return float(min(self.pause * 2 ** max(strikes - 1, 0), self.max_pause))


@dataclass(frozen=True)
class Fight:
    """One field self-heal leaves alone for now, and why."""

    object_id: str
    field: str  # JSON pointer
    manager: str
    heals: int  # the heals it undid before gitward stopped
    since: float  # when the fight was first declared (epoch seconds)
    paused_until: float
    strikes: int  # 1 for a first fight, more after a retry was undone again

    def to_dict(self) -> dict[str, Any]:
        key = ResourceKey.from_id(self.object_id)
        return {
            "object": self.object_id,
            "group": key.group,
            "kind": key.kind,
            "namespace": key.namespace,
            "name": key.name,
            "field": self.field,
            "manager": self.manager,
            "heals": self.heals,
            "since": self.since,
            "pausedUntil": self.paused_until,
            "strikes": self.strikes,
            "suggestion": suggestion(key, self.field, self.manager),
        }


def suggestion(key: ResourceKey, pointer: str, manager: str) -> dict[str, Any]:
    """The ``ignoreDifferences`` entries that end the fight: leave the field to ``manager`` (by
    pointer for this object, or everything that manager owns in objects of this kind)."""
    by_pointer: dict[str, Any] = {"group": key.group, "kind": key.kind, "name": key.name}
    if key.namespace:
        by_pointer["namespace"] = key.namespace
    by_pointer["jsonPointers"] = [pointer]
    return {
        "ignoreDifferences": [by_pointer],
        "orByManager": {"group": key.group, "kind": key.kind, "managedFieldsManagers": [manager]},
    }


@dataclass
class _Entry:
    manager: str
    heals: list[float] = field(default_factory=list)
    paused_until: float = 0.0
    strikes: int = 0
    since: float = 0.0
    counted: int = 0  # heals undone when the current fight was declared
    last_seen: float = 0.0


class FightBook:
    """Per app: the heals of each (object, field) and the fights declared on them."""

    def __init__(self, settings: FightSettings | None = None) -> None:
        self.settings = settings or FightSettings()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def observe(self, object_id: str, pointer: str, manager: str, *, now: float) -> Fight | None:
        """``manager`` has changed ``pointer`` of the object, as found now. Returns the fight this
        change starts or renews; None when the field is to be healed, or is paused already
        (``paused``)."""
        if not manager or self.settings.heals <= 0:
            return None
        entry = self._entries.get((object_id, pointer))
        if entry is None or entry.manager != manager:
            entry = self._entries[(object_id, pointer)] = _Entry(manager)
        entry.last_seen = now
        if entry.paused_until > now:
            return None
        entry.heals = [t for t in entry.heals if now - t < self.settings.window]
        threshold = self.settings.heals if entry.strikes == 0 else 1
        if len(entry.heals) < threshold:
            return None
        entry.strikes += 1
        entry.since = entry.since if entry.strikes > 1 else now
        entry.counted = len(entry.heals)
        entry.paused_until = now + self.settings.pause_for(entry.strikes)
        entry.heals = []
        return self._fight(object_id, pointer, entry)

    def healed(self, object_id: str, pointer: str, manager: str, *, now: float) -> None:
        """Self-heal set ``pointer`` back after ``manager`` changed it."""
        if not manager or self.settings.heals <= 0:
            return
        entry = self._entries.get((object_id, pointer))
        if entry is None or entry.manager != manager:
            entry = self._entries[(object_id, pointer)] = _Entry(manager)
        entry.heals.append(now)
        entry.last_seen = now

    def paused(self, object_id: str, *, now: float) -> list[str]:
        """The fields of the object self-heal leaves alone now."""
        return sorted(p for (o, p), e in self._entries.items() if o == object_id and e.paused_until > now)

    def is_paused(self, object_id: str, pointer: str, *, now: float) -> bool:
        entry = self._entries.get((object_id, pointer))
        return entry is not None and entry.paused_until > now

    def active(self, *, now: float) -> list[Fight]:
        """Fights whose pause runs now, after forgetting fields quiet for a whole window."""
        self._forget_quiet(now)
        return [self._fight(o, p, e) for (o, p), e in sorted(self._entries.items()) if e.paused_until > now]

    def next_resume(self, *, now: float) -> float | None:
        """When the earliest pause ends (epoch seconds), so the app is looked at again then."""
        ends = [e.paused_until for e in self._entries.values() if e.paused_until > now]
        return min(ends) if ends else None

    def forget(self, object_ids: Iterable[str]) -> None:
        """A person's sync wrote these objects as Git has them: their counts start again."""
        gone = set(object_ids)
        for key in [k for k in self._entries if k[0] in gone]:
            del self._entries[key]

    def _forget_quiet(self, now: float) -> None:
        window = self.settings.window
        for key, entry in list(self._entries.items()):
            latest = max([entry.last_seen, entry.paused_until, *entry.heals])
            if entry.paused_until <= now and now - latest >= window:
                del self._entries[key]

    @staticmethod
    def _fight(object_id: str, pointer: str, entry: _Entry) -> Fight:
        return Fight(
            object_id, pointer, entry.manager, entry.counted, entry.since, entry.paused_until, entry.strikes
        )

    # -- kept in the app's status, so a restart does not forget a pause --------------------------

    def restore(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            try:
                entry = _Entry(
                    str(row["manager"]),
                    paused_until=float(row["pausedUntil"]),
                    strikes=int(row.get("strikes", 1)),
                    since=float(row.get("since", 0.0)),
                    counted=int(row.get("heals", 0)),
                    last_seen=float(row.get("since", 0.0)),
                )
                self._entries[(str(row["object"]), str(row["field"]))] = entry
            except (KeyError, TypeError, ValueError):
                continue  # a malformed row only costs a fight detected again
