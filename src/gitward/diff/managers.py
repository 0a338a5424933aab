"""Who changed this field? Attribute drifted paths to the field managers of a live object.

When selfHeal reverts a change, the event should say "replicas changed by kubectl-edit", not just
"replicas changed". The answer is in ``metadata.managedFields``: each entry's ``fieldsV1`` is a tree
of path elements (``f:name`` a field, ``k:{...}`` a list element by key fields, ``v:...`` a set
element by value, ``i:N`` a list element by index, ``.`` the node itself). A path is owned by a
manager whose tree reaches it, or reaches an atomic ancestor of it (an empty ``{}`` leaf).

Deliberately not here: reading the full object (the cache stores objects without managedFields; the
caller fetches it on demand) and any decision about what to do with the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.diff.pointer import split


def field_managers(live: Mapping[str, Any], paths: Iterable[str]) -> dict[str, str]:
    """For each pointer in ``paths``, the manager owning it; unowned paths are left out.

    When several managers own a path (shared ownership), the one that wrote most recently wins,
    since it is the most likely author of the change; ties prefer an ``Update`` (an imperative edit)
    over an ``Apply``.
    """
    entries = [e for e in (live.get("metadata") or {}).get("managedFields") or [] if isinstance(e, Mapping)]
    out: dict[str, str] = {}
    for path in paths:
        tokens = split(path)
        if not tokens:
            continue
        owners = [e for e in entries if _owns(e.get("fieldsV1") or {}, live, tokens)]
        if owners:
            best = max(enumerate(owners), key=lambda pair: _rank(pair[1], pair[0]))[1]
            out[path] = str(best.get("manager", ""))
    return out


def _rank(entry: Mapping[str, Any], position: int) -> tuple[str, int, int]:
    return (str(entry.get("time") or ""), 1 if entry.get("operation") == "Update" else 0, position)


def _owns(fields: Mapping[str, Any], live: Any, tokens: list[str]) -> bool:
    if not fields:
        return False
    node: Any = fields
    value: Any = live
    for token in tokens:
        if not isinstance(node, Mapping):
            return False
        if not node:
            return True  # an atomic ancestor (an empty leaf above the path) owns everything below
        if isinstance(value, list):
            child_key = _element_key(node, value, token)
            value = value[int(token)] if child_key is not None else None
        else:
            child_key = f"f:{token}"
            value = value.get(token) if isinstance(value, Mapping) else None
        if child_key is None or child_key not in node:
            return False
        node = node[child_key]
    return True


def _element_key(node: Mapping[str, Any], items: list[Any], token: str) -> str | None:
    """The fieldsV1 key naming ``items[token]``: by key fields, by value, or by index."""
    if not token.isdigit() or int(token) >= len(items):
        return None
    element = items[int(token)]
    for key in node:
        if key.startswith("k:") and isinstance(element, Mapping):
            if _keys_match(key[2:], element):
                return str(key)
        elif key.startswith("v:"):
            if _json(key[2:]) == element:
                return str(key)
        elif key == f"i:{token}":
            return str(key)
    return None


def _keys_match(raw: str, element: Mapping[str, Any]) -> bool:
    wanted = _json(raw)
    return isinstance(wanted, dict) and all(element.get(k) == v for k, v in wanted.items())


_INVALID = object()


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID
