"""What makes two heals the same heal, so a drift fight takes one history entry instead of hundreds.

Someone (an HPA, an operator, a person with kubectl) keeps setting a field that Git also sets, and
self-heal keeps setting it back: every heal is a sync, and each used to add a history entry until the
fight had pushed the real deployments out of the kept history. Two heals are the same when they
re-applied the same commit to the same objects, with the same actions, after drift of the same fields
by the same field managers; the store then folds the second into the first entry and counts it. A
drift-triggered sync that found nothing to write (the watch had not yet delivered the previous heal
when the pass started) joins the heal before it instead of breaking the run.

The drifted fields and their managers come from the Drift events the drift journal (``drift.py``) wrote for
this pass just before the sync (the newest event per object). Deliberately not here: the folding
itself (``store.history``) and when a sync counts as a heal rather than a deployment (``outcome``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import orjson

from gitward.core.changes import Change
from gitward.store.history import QUIET_HEAL

_DRIFT = "drift"


class EventReader(Protocol):
    def list_events(self, app: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]: ...


def heal_key(events: EventReader, app: str, changes: Iterable[Change], *, trigger: str, commit: str) -> str:
    """The identity of a successful sync that a drift triggered, or "" for any other sync."""
    if _DRIFT not in trigger.split(","):
        return ""
    written = sorted((c.key.id, c.action.value) for c in changes if c.action.is_write)
    if not written:
        return QUIET_HEAL  # the previous heal had landed already: part of the same run
    drift = _newest_drift(events.list_events(app, limit=20 + 4 * len(written)))
    parts = []
    for object_id, action in written:
        fields, managers = drift.get(object_id, ([], ""))
        parts.append({"object": object_id, "action": action, "fields": fields, "managers": managers})
    return hashlib.sha256(orjson.dumps({"commit": commit, "changes": parts})).hexdigest()


def drift_of(events: EventReader, app: str, object_ids: list[str]) -> dict[str, tuple[list[str], str]]:
    """(fields, managers) of the newest Drift event of each of ``object_ids`` that has one."""
    drift = _newest_drift(events.list_events(app, limit=20 + 4 * len(object_ids)))
    return {i: drift[i] for i in object_ids if i in drift}


def _newest_drift(events: Iterable[Mapping[str, Any]]) -> dict[str, tuple[list[str], str]]:
    """(fields, managers) of the newest Drift event of each object; events come newest first."""
    found: dict[str, tuple[list[str], str]] = {}
    for event in events:
        object_id = str(event.get("object") or "")
        if event.get("reason") == "Drift" and object_id and object_id not in found:
            found[object_id] = (
                sorted(str(f) for f in event.get("fields") or ()),
                str(event.get("manager", "")),
            )
    return found
