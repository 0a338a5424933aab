"""Helm parameters (``spec.source.helm.parameters``) as ``helm --set`` reads them, merged into the values.

A name is a path: keys separated by ``.`` (``\\.`` for a dot inside a key) and list indices in
brackets: ``image.tag``, ``ingress.hosts[0].name``, ``podAnnotations.prometheus\\.io/scrape``. An index
past the end of a list grows it with nulls, as Helm does; an index above ``MAX_INDEX`` and a name that
does not parse are refused when the config is loaded, naming the parameter.

The value is typed as ``--set`` types it: ``true``/``false`` are booleans, ``null`` is null, an
integer without a leading zero is an integer, anything else a string. ``forceString: true`` keeps it a
string (``--set-string``). The value is taken whole: no comma splitting and no ``{a,b}`` lists.

Deliberately not here: the values files and the render itself (render/).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any, Protocol

MAX_INDEX = 65_536
_INT = re.compile(r"^-?[1-9][0-9]*$")

Token = str | int  # a mapping key or a list index


class Parameter(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def force_string(self) -> bool: ...


def parse_path(name: str) -> list[Token]:
    """``a.b[0].c`` -> ``["a", "b", 0, "c"]``; ValueError naming what is wrong."""
    tokens: list[Token] = []
    key, i, closed = "", 0, False  # closed: a "]" just ended a token, so only "." or "[" may follow
    while i < len(name):
        ch = name[i]
        if ch == "\\" and i + 1 < len(name) and name[i + 1] in ".[]\\":
            key, i = key + name[i + 1], i + 2
            continue
        if ch == ".":
            if not key and not closed:
                raise ValueError(f"helm parameter {name!r}: empty key")
            if key:
                tokens.append(key)
            key, closed, i = "", False, i + 1
            continue
        if ch == "[":
            end = name.find("]", i)
            index = name[i + 1 : end] if end > i else ""
            if not index.isdigit() or (not key and not tokens):
                raise ValueError(f"helm parameter {name!r}: a list index is written [N] after a key")
            if int(index) > MAX_INDEX:
                raise ValueError(f"helm parameter {name!r}: list index {index} is above {MAX_INDEX}")
            if key:
                tokens.append(key)
            tokens.append(int(index))
            key, closed, i = "", True, end + 1
            continue
        if closed:
            raise ValueError(f"helm parameter {name!r}: '.' or '[' must follow ']'")
        key, i = key + ch, i + 1
    if key:
        tokens.append(key)
    elif not closed:
        raise ValueError(f"helm parameter {name!r}: empty key")
    return tokens


def typed_value(value: str, *, force_string: bool) -> Any:
    """The value as ``--set`` types it, or the string itself with ``forceString``."""
    if force_string:
        return value
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if value == "0" or _INT.match(value):
        return int(value)
    return value


def with_parameters(values: dict[str, Any], parameters: Iterable[Parameter]) -> dict[str, Any]:
    """A copy of ``values`` with every parameter set, in order (a later one wins)."""
    out = copy.deepcopy(values)
    for parameter in parameters:
        set_path(
            out, parse_path(parameter.name), typed_value(parameter.value, force_string=parameter.force_string)
        )
    return out


def set_path(root: dict[str, Any], path: list[Token], value: Any) -> None:
    """Set ``value`` at ``path`` (``parse_path``) in ``root``, growing lists and mappings as Helm does."""
    node: Any = root
    for token, following in zip(path, [*path[1:], None], strict=True):
        last = following is None
        child_kind: type = list if isinstance(following, int) else dict
        if isinstance(token, int):
            while len(node) <= token:
                node.append(None)
            if last:
                node[token] = value
            elif not isinstance(node[token], child_kind):
                node[token] = child_kind()
            node = node[token]
        else:
            if last:
                node[token] = value
            elif not isinstance(node.get(token), child_kind):
                node[token] = child_kind()
            node = node[token]
