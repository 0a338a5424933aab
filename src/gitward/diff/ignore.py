"""Ignore rules: fields a user declares gitward must not compare (``spec.ignoreDifferences``).

Typical use: ``/spec/replicas`` of a Deployment scaled by an autoscaler, or a webhook's
``caBundle`` injected by cert-manager. A rule selects objects by group, kind, name and namespace
(empty = any) and names fields by RFC 6901 JSON pointers.

Deliberately not here: jq/JSONPath expressions and managed-field-manager rules; pointers cover the
common cases and cannot run arbitrary code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.diff import pointer


@dataclass(frozen=True, kw_only=True)
class IgnoreRule:
    """Fields (``json_pointers``) to leave out of the comparison for the objects this rule matches."""

    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for p in self.json_pointers:
            pointer.split(p)  # fail at construction, where the user's spec is validated

    def matches(self, key: ResourceKey) -> bool:
        """Group and kind must match exactly when set; ``""`` means any. ``"*"`` also means any group."""
        return (
            (not self.group or self.group == "*" or self.group == key.group)
            and (not self.kind or self.kind == key.kind)
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IgnoreRule:
        """From the ``ignoreDifferences`` entry shape users write (``jsonPointers`` camelCase)."""
        return cls(
            group=str(data.get("group") or ""),
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            namespace=str(data.get("namespace") or ""),
            json_pointers=tuple(str(p) for p in data.get("jsonPointers") or ()),
        )


def pointers_for(key: ResourceKey, rules: Iterable[IgnoreRule]) -> list[str]:
    """Every pointer of every rule matching ``key``, without duplicates, in rule order."""
    seen: dict[str, None] = {}
    for rule in rules:
        if rule.matches(key):
            seen.update(dict.fromkeys(rule.json_pointers))
    return list(seen)


def apply_ignores(obj: dict[str, Any], pointers: Sequence[str]) -> dict[str, Any]:
    """Remove ``pointers`` from ``obj`` in place and return it.

    Deeper pointers go first and list indices highest first, so removing ``/a/1`` never shifts what
    ``/a/2`` names.
    """
    for p in sorted(pointers, key=_removal_order):
        pointer.remove(obj, p)
    return obj


def _removal_order(p: str) -> tuple[int, list[tuple[int, int, str]]]:
    tokens = pointer.split(p)
    # Negative numbers sort higher indices first within a shared prefix.
    return (-len(tokens), [(0, -int(t), "") if t.isdigit() else (1, 0, t) for t in tokens])
