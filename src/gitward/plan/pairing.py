"""Pair each desired object with its live counterpart from the cluster cache.

The live side is ``None`` when the object does not exist yet (it must be created). Live objects
that nothing desires are not paired here: prune works from the stored inventory (``inventory.py``),
never from "whatever is in the cluster", so a foreign object can never become a prune candidate.

Deliberately not here: diffing (diff/), reading the cache (cluster/), namespace defaulting
(``namespaces.py``, which must run first so keys match).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.core.errors import ValidationError
from gitward.core.keys import ResourceKey


@dataclass(frozen=True)
class Pair:
    """One desired object and the live object with the same key, if any."""

    key: ResourceKey
    desired: dict[str, Any]
    live: dict[str, Any] | None

    @property
    def exists(self) -> bool:
        return self.live is not None


def pair(desired: Sequence[dict[str, Any]], live: Mapping[ResourceKey, dict[str, Any]]) -> list[Pair]:
    """Pairs in the order of ``desired``; raises ``ValidationError`` on duplicate keys.

    A duplicate would make the result depend on which copy wins, so it is refused with every
    duplicated key named, sorted, so the message is the same on every run (docs/reliability.md, bad input 8).
    """
    keys = [ResourceKey.of(obj) for obj in desired]
    duplicates = sorted(k for k, n in Counter(keys).items() if n > 1)
    if duplicates:
        names = ", ".join(str(k) for k in duplicates)
        raise ValidationError(f"objects defined more than once: {names}", reason="DuplicateObject")
    return [Pair(key=k, desired=obj, live=live.get(k)) for k, obj in zip(keys, desired, strict=True)]


def missing(pairs: Sequence[Pair]) -> list[Pair]:
    """The pairs whose object does not exist in the cluster yet."""
    return [p for p in pairs if p.live is None]
