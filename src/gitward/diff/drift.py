"""Explaining drift: which fields of a managed object changed out of band, and who changed them.

The cache holds live objects without managedFields (memory), and it may lag behind gitward's own last
write or, holding a write's answer, be ahead of the watch events still on their way. So drift is never
decided or attributed from the cache: the caller reads the full object once, only when the cache
suggests a drift (never on the no-op path), and ``drift_of`` compares that with the desired object.

A drifted field is attributed to the manager that owns it in ``metadata.managedFields``. A field
whose owner is gitward itself is gitward's own write, never drift: it is reported apart (``own``) so
the caller can heal it without telling anyone it changed out of band. Fields the app's ignore rules
name are neither drift nor gitward's business.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff.ignore import IgnoreRule, apply_ignores, places_in
from gitward.diff.managers import field_managers
from gitward.diff.pointer import changed_paths

_IGNORED_METADATA = {"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"}


def project(desired: Any, live: Any) -> Any:
    """``live`` cut down to the fields ``desired`` sets, so extra server fields are not drift."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {k: project(v, live[k]) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list):
        return [project(d, lv) for d, lv in zip(desired, live, strict=False)] + live[len(desired) :]
    return live


def _trimmed(desired: Mapping[str, Any]) -> dict[str, Any]:
    trimmed = {k: v for k, v in desired.items() if k != "status"}
    meta = dict(trimmed.get("metadata") or {})
    for key in _IGNORED_METADATA:
        meta.pop(key, None)
    trimmed["metadata"] = meta
    return trimmed


@dataclass(frozen=True)
class Drift:
    """What changed out of band in one object, from its full live copy."""

    paths: tuple[str, ...] = ()  # changed by someone else (or by nobody known: a removed field)
    managers: Mapping[str, str] = field(default_factory=dict)  # path -> the manager that owns it now
    own: tuple[str, ...] = ()  # differ from Git, but gitward owns them: its own write, not drift

    @property
    def found(self) -> bool:
        return bool(self.paths)

    def who(self) -> list[str]:
        """The managers of the drifted paths, in path order, without duplicates."""
        seen: dict[str, None] = {}
        for path in self.paths:
            manager = self.managers.get(path)
            if manager:
                seen.setdefault(manager, None)
        return list(seen)


def drift_of(
    desired: Mapping[str, Any],
    full_live: Mapping[str, Any],
    *,
    ignore: Sequence[IgnoreRule] = (),
    own: str,
) -> Drift:
    """The drift of ``full_live`` (read with its managedFields) from ``desired``, without the places
    ``ignore`` names on either side, attributed to field managers; fields ``own`` owns are not drift."""
    key = ResourceKey.of(desired)
    want = _trimmed(desired)
    have = copy.deepcopy(dict(full_live))
    managed = list((full_live.get("metadata") or {}).get("managedFields") or ())
    if ignore:
        want = apply_ignores(copy.deepcopy(want), places_in(key, want, ignore, managed=managed))
        have = apply_ignores(have, places_in(key, have, ignore, managed=managed))
        have.setdefault("metadata", {})["managedFields"] = managed  # attribution reads them from here
    paths = [p for p in changed_paths(want, project(want, have)) if p]
    owners = field_managers(have, paths, own=own)
    theirs = tuple(p for p in paths if owners.get(p) != own)
    mine = tuple(p for p in paths if owners.get(p) == own)
    return Drift(paths=theirs, managers={p: owners[p] for p in theirs if p in owners}, own=mine)
