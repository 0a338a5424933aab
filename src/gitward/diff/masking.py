"""Mask Secret data on every path that shows objects or messages (docs/reliability.md, bad input 12).

A diff must still tell "this value changed" from "this value did not", so masks are consistent
across a desired/live pair: equal values get equal masks, different values different masks. Masks
are assigned by the order in which distinct values first appear (``++++++++``, ``+++++++++``, ...),
so nothing about a value (not its length, not a hash an attacker could brute-force) is derived from
it. Values are compared by content: ``stringData: {a: "x"}`` and ``data: {a: "eA=="}`` mask alike.
The ``last-applied-configuration`` annotation is removed because it holds the whole manifest.

Deliberately not here: decryption (render/), deciding where to mask (every output path calls this).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.keys import group_of
from gitward.core.kinds import SECRET_KINDS
from gitward.diff.normalize import LAST_APPLIED_ANNOTATION

_FIELDS = ("data", "stringData")
_MASK_BASE = 8
TEXT_MASK = "******"
#: Lines of a multi-line secret (keys, certificates) shorter than this are too common to redact alone.
_MIN_LINE = 8


def is_secret(obj: Mapping[str, Any] | None) -> bool:
    return (
        obj is not None and obj.get("kind") in SECRET_KINDS and group_of(str(obj.get("apiVersion", ""))) == ""
    )


def mask_secrets(
    desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Deep copies of both sides with Secret values masked consistently across the pair."""
    masks: dict[bytes, str] = {}
    return _masked(desired, masks), _masked(live, masks)


def mask_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """One object (or a ``*List`` of objects) with Secret values masked."""
    out = _masked(obj, {})
    assert out is not None
    return out


def _masked(obj: Mapping[str, Any] | None, masks: dict[bytes, str]) -> dict[str, Any] | None:
    if obj is None:
        return None
    out = copy.deepcopy(dict(obj))
    items = out.get("items")
    if str(out.get("kind", "")).endswith("List") and isinstance(items, list):
        out["items"] = [_masked(i, masks) if isinstance(i, Mapping) else i for i in items]
        return out
    if not is_secret(out):
        return out
    _drop_last_applied(out)
    for name in _FIELDS:
        values = out.get(name)
        if not isinstance(values, Mapping):
            continue
        masked = {}
        for key in sorted(values, key=str):
            identity = _identity(values[key], encoded=name == "data")
            masked[key] = masks.setdefault(identity, "+" * (_MASK_BASE + len(masks)))
        out[name] = masked
    return out


def _drop_last_applied(obj: dict[str, Any]) -> None:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), Mapping):
        annotations = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED_ANNOTATION}
        meta["annotations"] = annotations


def _identity(value: Any, *, encoded: bool) -> bytes:
    """The content a value stands for, so base64 ``data`` and plain ``stringData`` compare alike."""
    raw = "" if value is None else str(value)
    if encoded:
        decoded = _b64decode(raw)
        if decoded is not None:
            return decoded
    return raw.encode()


def _b64decode(raw: str) -> bytes | None:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def secret_values(obj: Mapping[str, Any]) -> set[str]:
    """Every string under which a Secret's values could appear in a message.

    Both the base64 form and the decoded text, and each long line of multi-line values (a PEM key
    quoted partly in an error must still be hidden). Empty for anything but a Secret.
    """
    if not is_secret(obj):
        return set()
    found: set[str] = set()
    for name in _FIELDS:
        values = obj.get(name)
        if not isinstance(values, Mapping):
            continue
        for value in values.values():
            raw = "" if value is None else str(value)
            found.add(raw)
            decoded = _b64decode(raw) if name == "data" else None
            if decoded is not None:
                with contextlib.suppress(UnicodeDecodeError):
                    found.add(decoded.decode())
    lines = {line.strip() for v in found for line in v.splitlines() if "\n" in v}
    found |= {line for line in lines if len(line) >= _MIN_LINE}
    found.discard("")
    return found


def redact_text(text: str, secrets: Iterable[str], *, mask: str = TEXT_MASK) -> str:
    """``text`` with every occurrence of every secret value replaced by ``mask``.

    One regex pass, longest values first, so a value containing another is masked whole and a mask
    is never itself re-scanned.
    """
    values = sorted({s for s in secrets if s}, key=lambda s: (-len(s), s))
    if not values or not text:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return pattern.sub(mask, text)
