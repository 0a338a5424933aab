"""Ignore rules: fields a user declares gitward must not compare (``spec.ignoreDifferences``).

Typical use: ``/spec/replicas`` of a Deployment scaled by an autoscaler, or a webhook's
``caBundle`` injected by cert-manager. A rule selects objects by group, kind, name and namespace
(empty or ``*`` = any group or kind; empty = any name or namespace) and names fields three ways, as
Argo CD does:

- ``jsonPointers``: RFC 6901 pointers, the same places in every object;
- ``jqPathExpressions``: the safe subset of jq path expressions of ``core/jqpath.py``, evaluated on each
  object, so ``.spec.containers[] | select(.name == "istio-proxy")`` finds the sidecar wherever it is;
- ``managedFieldsManagers``: every field a named field manager owns in the live object's
  ``metadata.managedFields`` (an autoscaler's ``spec.replicas``, an injector's sidecar).

A rule is resolved against one object at a time (``places``): the desired and the live object each
get their own pointers, so a list element matched by content is removed where it is in each. Fields
named by managers come from the live object's managedFields; the cache keeps objects without them,
so a caller that needs them reads the full object (``needs_managed_fields`` says when).

Deliberately not here: when rules apply (compare, drift, RespectIgnoreDifferences: their callers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.core.jqpath import JqPath
from gitward.core.keys import ResourceKey
from gitward.diff import pointer
from gitward.diff.managers import managed_entries, owned_pointers


@dataclass(frozen=True, kw_only=True)
class IgnoreRule:
    """Fields to leave out of the comparison for the objects this rule matches."""

    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = field(default_factory=tuple)
    jq_paths: tuple[JqPath, ...] = field(default_factory=tuple)
    managers: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for p in self.json_pointers:
            pointer.split(p)  # fail at construction, where the user's spec is validated

    def matches(self, key: ResourceKey) -> bool:
        """Each of group, kind, name, namespace must match when set; ``""`` (and ``*`` for group and
        kind) means any."""
        return (
            self.group in ("", "*", key.group)
            and self.kind in ("", "*", key.kind)
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )

    def places(self, obj: Mapping[str, Any], managed: Sequence[Mapping[str, Any]] = ()) -> list[str]:
        """The pointers this rule names in ``obj``; ``managed`` are the live object's managedFields
        entries (``obj``'s own when it carries them)."""
        out: dict[str, None] = dict.fromkeys(self.json_pointers)
        for expression in self.jq_paths:
            out.update((pointer.join([str(t) for t in path]), None) for path in expression.paths(obj))
        if self.managers:
            entries = managed or managed_entries(obj)
            out.update(dict.fromkeys(owned_pointers(entries, self.managers, obj)))
        return list(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IgnoreRule:
        """From the ``ignoreDifferences`` entry shape users write (camelCase); a jq expression outside
        the subset raises ``jqpath.JqPathError``."""
        return cls(
            group=str(data.get("group") or ""),
            kind=str(data.get("kind") or ""),
            name=str(data.get("name") or ""),
            namespace=str(data.get("namespace") or ""),
            json_pointers=tuple(str(p) for p in data.get("jsonPointers") or ()),
            jq_paths=tuple(JqPath.parse(str(e)) for e in data.get("jqPathExpressions") or ()),
            managers=tuple(str(m) for m in data.get("managedFieldsManagers") or ()),
        )


def matching(key: ResourceKey, rules: Iterable[IgnoreRule]) -> list[IgnoreRule]:
    return [rule for rule in rules if rule.matches(key)]


def needs_managed_fields(key: ResourceKey, rules: Iterable[IgnoreRule]) -> bool:
    """Whether a rule for ``key`` names fields by manager, so the full live object must be read."""
    return any(rule.managers for rule in matching(key, rules))


def pointers_for(key: ResourceKey, rules: Iterable[IgnoreRule]) -> list[str]:
    """Every JSON pointer of every rule matching ``key``, without duplicates, in rule order (the
    places that do not depend on the object)."""
    seen: dict[str, None] = {}
    for rule in matching(key, rules):
        seen.update(dict.fromkeys(rule.json_pointers))
    return list(seen)


def places_in(
    key: ResourceKey,
    obj: Mapping[str, Any] | None,
    rules: Iterable[IgnoreRule],
    *,
    managed: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Every pointer the rules matching ``key`` name in ``obj``, without duplicates."""
    if obj is None:
        return []
    seen: dict[str, None] = {}
    for rule in matching(key, rules):
        seen.update(dict.fromkeys(rule.places(obj, managed)))
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
