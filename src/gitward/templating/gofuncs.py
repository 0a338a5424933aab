"""The functions a Go template may call: Go's own, the common Sprig ones, and Argo CD's ``normalize``.

Each behaves as its Go original on plain data (strings, numbers, booleans, nil, lists, maps);
arguments of the wrong type are an error, as in Go. ``and`` and ``or`` evaluate their arguments
lazily and live in the executor. Any other name is refused with the list of these.

Not provided, on purpose: anything that reads the environment, the clock, the network or random
numbers (Sprig's ``env``, ``now``, ``uuidv4``, ``getHostByName``...), and ``call``, ``html``,
``js``, ``urlquery`` and ``slice``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitward.templating.errors import TemplateError
from gitward.templating.goformat import empty, format_value, to_json, truth, type_name

Function = Callable[..., Any]

_DNS_UNSAFE = re.compile(r"[^-a-z0-9.]")
_PRINTF_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")


def _text(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{function}: expected a string, got {type_name(value)}")
    return value


def _whole(value: Any, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise TemplateError(f"{function}: expected an integer, got {type_name(value)}")
    return int(value)


def _items(value: Any, function: str) -> list[Any]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        raise TemplateError(f"{function}: expected a list, got {type_name(value)}")
    return list(value)


def _string_value(value: Any) -> str:
    """Sprig's ``strval``: strings as they are, anything else as ``%v``."""
    return value if isinstance(value, str) else format_value(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _comparable(a: Any, b: Any, function: str) -> None:
    if _number(a) and _number(b):
        return
    if type(a) is not type(b) or isinstance(a, (list, dict)):
        raise TemplateError(f"{function}: incompatible types for comparison ({type_name(a)}, {type_name(b)})")


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise TemplateError("eq: missing argument for comparison")
    for other in others:
        if first is None or other is None:
            if first is other:
                return True
            continue
        _comparable(first, other, "eq")
        if first == other:
            return True
    return False


def _ordered(function: str, check: Callable[[Any, Any], bool]) -> Function:
    def compare(a: Any, b: Any) -> bool:
        _comparable(a, b, function)
        if not (_number(a) or isinstance(a, str)):
            raise TemplateError(f"{function}: invalid type for comparison ({type_name(a)})")
        return check(a, b)

    return compare


def _length(value: Any) -> int:
    if isinstance(value, (str, Mapping, Sequence)):
        return len(value)
    raise TemplateError(f"len of {type_name(value)}")


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if value is None:
            raise TemplateError("index of untyped nil")
        if isinstance(value, Mapping):
            value = value.get(key) if isinstance(key, str) else None
        elif isinstance(value, Sequence) and not isinstance(value, str):
            position = _whole(key, "index")
            if not 0 <= position < len(value):
                raise TemplateError(f"index out of range: {position}")
            value = value[position]
        else:
            raise TemplateError(f"can't index item of type {type_name(value)}")
    return value


def _print(*values: Any) -> str:
    """``fmt.Sprint``: a space between two operands when neither is a string."""
    out = ""
    for i, value in enumerate(values):
        if i and not isinstance(value, str) and not isinstance(values[i - 1], str):
            out += " "
        out += format_value(value)
    return out


def _printf(form: Any, *values: Any) -> str:
    """``fmt.Sprintf`` for ``%s``, ``%d``, ``%v``, ``%q`` and ``%%`` (with width and ``-``)."""
    template = _text(form, "printf")
    remaining = list(values)
    out: list[str] = []
    pos = 0
    for match in _PRINTF_VERB.finditer(template):
        out.append(template[pos : match.start()])
        pos = match.end()
        flags, width, _precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if verb not in "sdvq":
            raise TemplateError(f"printf: the verb %{verb} is not supported (%s, %d, %v, %q are)")
        if not remaining:
            out.append(f"%!{verb}(MISSING)")
            continue
        value = remaining.pop(0)
        if verb == "d":
            text = str(_whole(value, "printf %d"))
        elif verb == "q":
            text = _quote(_string_value(value))
        else:
            text = format_value(value)
        size = int(width or 0)
        out.append(text.ljust(size) if "-" in flags else text.rjust(size))
    out.append(template[pos:])
    return "".join(out)


def _quote(text: str) -> str:
    return to_json(text).replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def _default(fallback: Any, *given: Any) -> Any:
    return fallback if not given or empty(given[0]) else given[0]


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if not empty(v)), None)


def _ternary(if_true: Any, if_false: Any, condition: Any) -> Any:
    if not isinstance(condition, bool):
        raise TemplateError(f"ternary: expected a boolean condition, got {type_name(condition)}")
    return if_true if condition else if_false


def _title(value: Any) -> str:
    """Go's ``strings.Title``: the first letter of each word upper-cased."""
    out, previous = [], " "
    for char in _text(value, "title"):
        out.append(char.upper() if not (previous.isalnum() or previous == "_") else char)
        previous = char
    return "".join(out)


def _trunc(count: Any, value: Any) -> str:
    size, text = _whole(count, "trunc"), _text(value, "trunc")
    if size < 0:
        return text[len(text) + size :] if len(text) + size > 0 else text
    return text[:size]


def _join(separator: Any, values: Any) -> str:
    parts = values if isinstance(values, list) else [values]
    return _text(separator, "join").join(_string_value(v) for v in parts if v is not None)


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise TemplateError("dig needs at least three arguments: keys, a default and a map")
    *keys, fallback, value = args
    for key in keys:
        if not isinstance(value, Mapping) or _text(key, "dig") not in value:
            return fallback
        value = value[key]
    return value


def _has_key(value: Any, key: Any) -> bool:
    if not isinstance(value, Mapping):
        raise TemplateError(f"hasKey: expected a map, got {type_name(value)}")
    return _text(key, "hasKey") in value


def _base(value: Any) -> str:
    path = _text(value, "base").rstrip("/")
    if not path:
        return "/" if value else "."
    return path.rsplit("/", 1)[-1]


def _dir(value: Any) -> str:
    path = _text(value, "dir")
    head = path[: path.rfind("/") + 1] if "/" in path else ""
    cleaned = posixpath.normpath(head) if head else "."
    return "/" if cleaned == "//" else cleaned


def normalize(value: Any) -> str:
    """Argo CD's ``normalize``: lower case, characters other than ``[-a-z0-9.]`` as ``-``, at most
    253 characters, no ``-`` or ``.`` at either end."""
    name = _DNS_UNSAFE.sub("-", _text(value, "normalize").lower())[:253]
    return name.strip("-.")


def _first(values: Any) -> Any:
    items = _items(values, "first")
    return items[0] if items else None


def _last(values: Any) -> Any:
    items = _items(values, "last")
    return items[-1] if items else None


def _string_function(name: str, apply: Callable[[str], str]) -> Function:
    return lambda value: apply(_text(value, name))


def _two_strings(name: str, apply: Callable[[str, str], Any]) -> Function:
    return lambda a, b: apply(_text(a, name), _text(b, name))


FUNCTIONS: Mapping[str, Function] = {
    # Go's own
    "not": lambda value: not truth(value),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _ordered("lt", lambda a, b: a < b),
    "le": _ordered("le", lambda a, b: a <= b),
    "gt": _ordered("gt", lambda a, b: a > b),
    "ge": _ordered("ge", lambda a, b: a >= b),
    "len": _length,
    "index": _index,
    "print": _print,
    "printf": _printf,
    "println": lambda *values: " ".join(format_value(v) for v in values) + "\n",
    # Sprig
    "default": _default,
    "empty": empty,
    "coalesce": _coalesce,
    "ternary": _ternary,
    "lower": _string_function("lower", str.lower),
    "upper": _string_function("upper", str.upper),
    "title": _title,
    "trim": _string_function("trim", lambda s: s.strip(" \t\r\n\v\f")),
    "trimAll": _two_strings("trimAll", lambda chars, s: s.strip(chars)),
    "trimPrefix": _two_strings("trimPrefix", lambda prefix, s: s.removeprefix(prefix)),
    "trimSuffix": _two_strings("trimSuffix", lambda suffix, s: s.removesuffix(suffix)),
    "replace": lambda old, new, s: _text(s, "replace").replace(_text(old, "replace"), _text(new, "replace")),
    "trunc": _trunc,
    "quote": lambda *values: " ".join(_quote(_string_value(v)) for v in values if v is not None),
    "squote": lambda *values: " ".join(f"'{_string_value(v)}'" for v in values if v is not None),
    "cat": lambda *values: " ".join(format_value(v) for v in values if v is not None),
    "contains": _two_strings("contains", lambda part, s: part in s),
    "hasPrefix": _two_strings("hasPrefix", lambda prefix, s: s.startswith(prefix)),
    "hasSuffix": _two_strings("hasSuffix", lambda suffix, s: s.endswith(suffix)),
    "join": _join,
    "splitList": _two_strings("splitList", lambda sep, s: s.split(sep) if sep else list(s)),
    "toString": _string_value,
    "toJson": to_json,
    "base": _base,
    "dir": _dir,
    "dig": _dig,
    "hasKey": _has_key,
    "first": _first,
    "last": _last,
    "list": lambda *values: list(values),
    # Argo CD
    "normalize": normalize,
}

#: Evaluated by the executor itself: their arguments are evaluated only as far as needed.
LAZY = ("and", "or")
NAMES = tuple(sorted((*FUNCTIONS, *LAZY)))
