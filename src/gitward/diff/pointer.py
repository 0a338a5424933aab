"""JSON pointers (RFC 6901): escaping, parsing, removal, and the pointers of differing leaves.

Pointers are how a difference is named everywhere in gitward: in ignore rules written by users, in
drift events and in field-manager attribution. Paths use ``~0`` for ``~`` and ``~1`` for ``/`` so a
label key such as ``app.kubernetes.io/name`` survives the round trip.

Deliberately not here: wildcards or JSONPath/jq expressions; a pointer names exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def escape(token: str) -> str:
    """One reference token: ``~`` -> ``~0`` first, then ``/`` -> ``~1`` (the RFC's order)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """Inverse of :func:`escape`: ``~1`` -> ``/`` first, then ``~0`` -> ``~``."""
    return token.replace("~1", "/").replace("~0", "~")


def join(tokens: list[str] | tuple[str, ...]) -> str:
    """Tokens (unescaped) to a pointer; the empty list is the whole document, ``""``."""
    return "".join("/" + escape(t) for t in tokens)


def split(pointer: str) -> list[str]:
    """A pointer to its unescaped tokens; raises ``ValueError`` when it does not start with ``/``."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer must be empty or start with '/': {pointer!r}")
    return [unescape(t) for t in pointer[1:].split("/")]


def remove(doc: Any, pointer: str) -> bool:
    """Delete the value at ``pointer`` in place; ``False`` when nothing is there (not an error).

    Ignore rules are written once for many objects, so a path absent from one object is normal.
    """
    tokens = split(pointer)
    if not tokens:
        return False
    parent = doc
    for token in tokens[:-1]:
        parent = _child(parent, token)
        if parent is None:
            return False
    last = tokens[-1]
    if isinstance(parent, dict):
        if last in parent:
            del parent[last]
            return True
        return False
    if isinstance(parent, list):
        index = _index(last, len(parent))
        if index is not None:
            del parent[index]
            return True
    return False


def get(doc: Any, pointer: str) -> Any:
    """The value at ``pointer`` or ``None`` when absent."""
    node = doc
    for token in split(pointer):
        node = _child(node, token)
        if node is None:
            return None
    return node


def _child(node: Any, token: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(token)
    if isinstance(node, list):
        index = _index(token, len(node))
        return None if index is None else node[index]
    return None


def _index(token: str, length: int) -> int | None:
    # RFC 6901 forbids leading zeros and signs; "-" (past the end) never names an existing element.
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        return None
    index = int(token)
    return index if index < length else None


def values_equal(a: Any, b: Any) -> bool:
    """Leaf equality as Kubernetes means it: ``1 == 1.0``, but ``True`` is not ``1`` and ``"1"`` not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return False
    return bool(a == b)


def changed_paths(old: Any, new: Any) -> list[str]:
    """Pointers of every differing leaf between two documents, in a stable order.

    A key present on one side only is reported once, at the key (not at each leaf below it). Lists
    are compared by index; extra elements on either side are reported at their index.
    """
    out: list[str] = []
    _walk(old, new, [], out)
    return out


def _walk(old: Any, new: Any, prefix: list[str], out: list[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                out.append(join([*prefix, str(key)]))
            else:
                _walk(old[key], new[key], [*prefix, str(key)], out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            if i >= len(old) or i >= len(new):
                out.append(join([*prefix, str(i)]))
            else:
                _walk(old[i], new[i], [*prefix, str(i)], out)
        return
    if not values_equal(old, new):
        out.append(join(prefix))
