"""Compare a desired object (usually the server-side dry-run result) with the live one.

This is the authoritative comparison that decides Synced/OutOfSync for one object: both sides are
normalised, the user's ignore rules are resolved on each side and applied to it (``ignore.places_in``:
a jq expression or a field manager's set may name other list positions in each), and the remaining
differing leaves are reported as JSON pointers.

Deliberately not here: the cheap pre-check (``subset.py``), masking (``masking.py``; this module
returns pointers, never values, so it has nothing to mask) and any API call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff.ignore import IgnoreRule, apply_ignores, places_in
from gitward.diff.normalize import normalize
from gitward.diff.pointer import changed_paths


@dataclass(frozen=True)
class ObjectDiff:
    """Outcome for one object: whether it differs and where (pointers, no values)."""

    key: ResourceKey
    changed: bool
    paths: tuple[str, ...] = field(default_factory=tuple)
    missing: bool = False  # no live object at all: it must be created


def compare(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    managed: Sequence[Mapping[str, Any]] = (),
) -> ObjectDiff:
    """Normalise both sides, drop ignored places, and report the differing leaves. ``managed``: the
    live object's managedFields entries when ``live`` (a cached copy) lacks them."""
    key = ResourceKey.of(desired)
    if live is None:
        return ObjectDiff(key=key, changed=True, paths=("",), missing=True)
    want, have = without_ignored(key, desired, live, ignore, managed=managed)
    paths = tuple(changed_paths(have, want))
    return ObjectDiff(key=key, changed=bool(paths), paths=paths)


def without_ignored(
    key: ResourceKey,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    ignore: Sequence[IgnoreRule],
    *,
    managed: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides normalised, each without the places the rules name in it."""
    want, have = normalize(desired), normalize(live)
    if not ignore:
        return want, have
    managed = managed or list((live.get("metadata") or {}).get("managedFields") or ())
    want = apply_ignores(want, places_in(key, want, ignore, managed=managed))
    have = apply_ignores(have, places_in(key, have, ignore, managed=managed))
    return want, have
