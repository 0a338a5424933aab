"""The cheap no-op check: is everything the manifest sets already so on the live object?

The apply layer calls :func:`is_subset` for every object on every reconcile before deciding whether a
server-side dry-run is needed at all, so it is written for speed: no copies, exact-type fast paths,
and an early return on the first difference.

Rules: maps are compared recursively on the manifest's keys only (the server adds defaults); lists
must have the same length and be element-wise subsets (the server never adds list elements, but it
does add fields inside them); numbers compare by value (``1 == 1.0``) but booleans are not numbers;
quantities and int-or-string values compare exactly as written (``"500m"`` is not ``"0.5"``; the
dry-run decides those). A ``None`` in the manifest sets nothing; an empty map/list is satisfied by
absence, as the server drops them.

Deliberately not here: defaulting knowledge, quantity parsing, ignore rules. A ``False`` here only
means "ask the server"; it is never proof of drift.
"""

from __future__ import annotations

from typing import Any

from gitward.diff.normalize import fold_string_data


def is_subset(desired: Any, live: Any) -> bool:
    """Every field set in ``desired`` has the same value in ``live``.

    A Secret's ``stringData`` is compared as the base64 ``data`` the server turns it into.
    """
    if type(desired) is dict and "stringData" in desired:
        desired = fold_string_data(desired)
    return _subset(desired, live)


def _subset(desired: Any, live: Any) -> bool:
    td = type(desired)
    if td is dict:
        if type(live) is not dict:
            if isinstance(live, dict):
                return _subset(desired, dict(live))
            return live is None and _empty(desired)
        for key, value in desired.items():
            if key in live:
                if not _subset(value, live[key]):
                    return False
            elif not _empty(value):
                return False
        return True
    if td is list:
        if type(live) is not list:
            if isinstance(live, list):
                return _subset(desired, list(live))
            return live is None and not desired
        if len(desired) != len(live):
            return False
        return all(_subset(d, v) for d, v in zip(desired, live, strict=True))
    if desired is None:
        return True  # null is "not set" to the server, whatever the live value
    if td is type(live):
        return bool(desired == live)
    return _scalar_equal(desired, live)


def _empty(value: Any) -> bool:
    """Values the server drops, so their absence on the live side is agreement."""
    if value is None:
        return True
    if type(value) is dict:
        return all(_empty(v) for v in value.values())
    return type(value) is list and not value


def _scalar_equal(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return False  # exact types already failed, and True must not equal 1
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return bool(desired == live)
    if isinstance(desired, dict):  # dict and list subclasses from some loaders
        return _subset(dict(desired), live)
    if isinstance(desired, list):
        return _subset(list(desired), live)
    return False
