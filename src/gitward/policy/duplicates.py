"""The same object rendered twice in one app (docs/reliability.md, bad input 8).

Two manifests with one key would be applied in turn and the live object would flip between them, so
a duplicate refuses the sync. Keys are compared without API version: ``apps/v1`` and ``apps/v1beta1``
Deployments of one name are one object.

Deliberately not here: objects claimed by two apps (needs every app's inventory: plan/ and apply/).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.policy.violations import RULE_DUPLICATE, Violation


def find_duplicates(manifests: Iterable[Mapping[str, Any]]) -> list[ResourceKey]:
    """Keys that occur more than once, sorted; manifests must already carry their namespaces."""
    return duplicate_keys(ResourceKey.of(obj) for obj in manifests)


def duplicate_keys(keys: Iterable[ResourceKey]) -> list[ResourceKey]:
    counts = Counter(keys)
    return sorted(key for key, count in counts.items() if count > 1)


def duplicate_violations(keys: Iterable[ResourceKey]) -> list[Violation]:
    return [Violation(key, RULE_DUPLICATE, "rendered more than once") for key in keys]
