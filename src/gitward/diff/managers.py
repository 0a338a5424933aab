"""Who changed this field? Attribute drifted paths to the field managers of a live object.

When selfHeal reverts a change, the event should say "replicas changed by kubectl-edit", not just
"replicas changed". The answer is in ``metadata.managedFields``: each entry's ``fieldsV1`` is a tree
of path elements (``f:name`` a field, ``k:{...}`` a list element by key fields, ``v:...`` a set
element by value, ``i:N`` a list element by index, ``.`` the node itself). A path is owned by a
manager whose tree reaches it, or reaches an atomic ancestor of it (an empty ``{}`` leaf).

The same trees answer the other question ``ignoreDifferences.managedFieldsManagers`` asks: which
places of an object does a named manager own (``owned_pointers``)? The tree is resolved against the
object at hand, so a list element named by its key (``k:{"name":"istio-proxy"}``) is found at its
index in that object, whichever index it has in another.

Deliberately not here: reading the full object (the cache stores objects without managedFields; the
caller fetches it on demand) and any decision about what to do with the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.diff.pointer import join, split


def managed_entries(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The object's ``metadata.managedFields`` entries ([] when it has none: a cached copy)."""
    return [e for e in (obj.get("metadata") or {}).get("managedFields") or [] if isinstance(e, Mapping)]


def field_managers(live: Mapping[str, Any], paths: Iterable[str], *, own: str = "") -> dict[str, str]:
    """For each pointer in ``paths``, the manager owning it; unowned paths are left out.

    When several managers own a path (shared ownership), a manager other than ``own`` (gitward's
    own field manager) wins: a value that is not what gitward wrote was not written by gitward.
    Among the others the one that wrote most recently wins, since it is the most likely author of
    the change; ties prefer an ``Update`` (an imperative edit) over an ``Apply``. An entry without a
    time (the API server keeps none for writes through the ``scale`` subresource) ranks as recent.
    """
    entries = managed_entries(live)
    out: dict[str, str] = {}
    for path in paths:
        tokens = split(path)
        if not tokens:
            continue
        owners = [e for e in entries if _owns(e.get("fieldsV1") or {}, live, tokens)]
        if owners:
            best = max(enumerate(owners), key=lambda pair: _rank(pair[1], pair[0], own))[1]
            out[path] = str(best.get("manager", ""))
    return out


def _rank(entry: Mapping[str, Any], position: int, own: str) -> tuple[int, str, int, int]:
    time = str(entry.get("time") or "9999")
    return (
        0 if own and entry.get("manager") == own else 1,
        time,
        1 if entry.get("operation") == "Update" else 0,
        position,
    )


def owned_pointers(
    entries: Iterable[Mapping[str, Any]], managers: Iterable[str], obj: Mapping[str, Any]
) -> list[str]:
    """Pointers of the places of ``obj`` that the named ``managers`` own, per ``entries`` (the
    managedFields of the live object). A list element the manager owns as a whole (its ``.``) is one
    pointer; so is an atomic field (an empty leaf). Places ``obj`` does not have are left out."""
    wanted = set(managers)
    found: dict[str, None] = {}
    for entry in entries:
        if entry.get("manager") in wanted and isinstance(entry.get("fieldsV1"), Mapping):
            for tokens in _resolve(entry["fieldsV1"], obj, []):
                found.setdefault(join(tokens), None)
    return list(found)


def _resolve(fields: Mapping[str, Any], value: Any, prefix: list[str]) -> Iterable[list[str]]:
    """The places below ``prefix`` that ``fields`` (a fieldsV1 node) names in ``value``."""
    for name, child in fields.items():
        if name == "." or not isinstance(child, Mapping):
            continue
        if name.startswith("f:") and isinstance(value, Mapping):
            if name[2:] in value:
                yield from _leaf_or_deeper(child, value[name[2:]], [*prefix, name[2:]])
        elif isinstance(value, list):
            index = _element_index(name, value)
            if index is not None:
                yield from _leaf_or_deeper(child, value[index], [*prefix, str(index)], element=True)


def _leaf_or_deeper(
    fields: Mapping[str, Any], value: Any, tokens: list[str], *, element: bool = False
) -> Iterable[list[str]]:
    if not fields or (element and "." in fields):
        yield tokens  # atomic, or a list element the manager added: the whole place
    else:
        yield from _resolve(fields, value, tokens)


def _element_index(name: str, items: list[Any]) -> int | None:
    if name.startswith("i:") and name[2:].isdigit():
        index = int(name[2:])
        return index if index < len(items) else None
    for i, element in enumerate(items):
        if name.startswith("k:") and isinstance(element, Mapping) and _keys_match(name[2:], element):
            return i
        if name.startswith("v:") and _json(name[2:]) == element:
            return i
    return None


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
