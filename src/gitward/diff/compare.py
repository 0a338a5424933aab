"""Compare a desired object (usually the server-side dry-run result) with the live one.

This is the authoritative comparison that decides Synced/OutOfSync for one object: both sides are
normalised, the user's ignore rules are applied to both, and the remaining differing leaves are
reported as JSON pointers.

Deliberately not here: the cheap pre-check (``subset.py``), masking (``masking.py``; this module
returns pointers, never values, so it has nothing to mask) and any API call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff.ignore import IgnoreRule, apply_ignores, pointers_for
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
) -> ObjectDiff:
    """Normalise both sides, drop ignored pointers, and report the differing leaves."""
    key = ResourceKey.of(desired)
    if live is None:
        return ObjectDiff(key=key, changed=True, paths=("",), missing=True)
    ignored = pointers_for(key, ignore)
    want = apply_ignores(normalize(desired), ignored)
    have = apply_ignores(normalize(live), ignored)
    paths = tuple(changed_paths(have, want))
    return ObjectDiff(key=key, changed=bool(paths), paths=paths)
