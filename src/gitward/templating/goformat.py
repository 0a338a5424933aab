"""How Go prints and judges values, for the Go template subset (``gotemplate``).

Parameters are plain data (str, int, float, bool, None, lists, dicts), as YAML and JSON give them.
Printing follows Go's ``fmt`` ``%v``: floats in the shortest form with an exponent from 1e+06 on
(``1e+06``, ``123456``, ``0.5``), lists as ``[a b]``, maps as ``map[k:v]`` with sorted keys, nil
inside a container as ``<nil>``. Truth and emptiness follow ``text/template`` and Sprig. ``to_json``
writes what Go's ``encoding/json`` writes (sorted keys, ``<``, ``>`` and ``&`` escaped).

Deliberately not here: printing a value that is not set at the top of an action (the executor
refuses it instead of printing ``<no value>``).
"""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any


def _digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as ``value`` and the decimal point's position."""
    sign_digits_exp = decimal.Decimal(repr(abs(value))).as_tuple()
    digits = "".join(str(d) for d in sign_digits_exp.digits).lstrip("0") or "0"
    exponent = int(sign_digits_exp.exponent)
    # Decimal("1000000.0") has digits 10000000 and exponent -1: drop trailing zeros into the exponent.
    stripped = digits.rstrip("0") or "0"
    exponent += len(digits) - len(stripped)
    return stripped, len(stripped) + exponent


def _fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return f"{digits[:point]}.{digits[point:]}"


def _scientific(digits: str, point: int, *, min_exponent_digits: int) -> str:
    exponent = point - 1
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa}e{sign}{abs(exponent):0{min_exponent_digits}d}"


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def go_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``, which ``%v`` uses."""
    special = _special(value)
    if special is not None:
        return special
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, point = _digits(value)
    exponent = point - 1
    text = (
        _scientific(digits, point, min_exponent_digits=2)
        if exponent < -4 or exponent >= 6
        else _fixed(digits, point)
    )
    return f"-{text}" if value < 0 else text


def json_float(value: float) -> str:
    """A float as ``encoding/json`` writes it: plain digits unless very small or large."""
    if _special(value) is not None:
        raise ValueError(f"unsupported value: {_special(value)}")
    if value == 0:
        return "0"
    digits, point = _digits(value)
    exponent = point - 1
    text = (
        _scientific(digits, point, min_exponent_digits=1)
        if exponent < -6 or exponent >= 21
        else _fixed(digits, point)
    )
    return f"-{text}" if value < 0 else text


def type_name(value: Any) -> str:
    """The Go type a YAML/JSON value would have, for error messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, Sequence):
        return "[]interface {}"
    return type(value).__name__


def format_value(value: Any) -> str:
    """``fmt.Sprint(value)`` (``%v``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{format_value(k)}:{format_value(value[k])}" for k in sorted(value, key=str))
        return f"map[{inner}]"
    if isinstance(value, Sequence):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    return str(value)


def truth(value: Any) -> bool:
    """``text/template``'s truth: false, 0, nil and empty strings, lists and maps are false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, Mapping, Sequence)):
        return len(value) > 0
    return True


def empty(value: Any) -> bool:
    """Sprig's ``empty`` (what ``default`` and ``coalesce`` test): the opposite of ``truth``."""
    return not truth(value)


def _json_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        out = out.replace(char, escape)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def to_json(value: Any) -> str:
    """``json.Marshal(value)`` as Go writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        items = (f"{_json_string(str(k))}:{to_json(value[k])}" for k in sorted(value, key=str))
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise ValueError(f"cannot write a {type_name(value)} as JSON")
