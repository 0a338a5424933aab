"""Explaining drift: which fields of a managed object changed out of band, and who changed them.

The cache holds live objects without managedFields (memory), so attribution reads the full object
once, only when a drift is found — never on the no-op path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def drift_paths(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """JSON pointers of the desired fields the live object no longer has as desired."""
    trimmed = {k: v for k, v in desired.items() if k != "status"}
    meta = dict(trimmed.get("metadata") or {})
    for key in _IGNORED_METADATA:
        meta.pop(key, None)
    trimmed["metadata"] = meta
    return [p for p in changed_paths(trimmed, project(trimmed, live)) if p]


def managers_of(full_live: Mapping[str, Any] | None, paths: list[str]) -> list[str]:
    """Field managers owning the drifted paths, most specific first, without duplicates."""
    if full_live is None:
        return []
    owners = field_managers(dict(full_live), paths)
    seen: list[str] = []
    for path in paths:
        manager = owners.get(path)
        if manager and manager not in seen:
            seen.append(manager)
    return seen
