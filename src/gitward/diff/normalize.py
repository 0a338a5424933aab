"""Strip what the API server owns from an object, so desired and live compare field by field.

A live object carries bookkeeping no manifest ever sets (uid, resourceVersion, managedFields,
status...). A rendered manifest carries ``null`` values and empty maps that the server silently
drops. Both must go before comparing, or every object would look changed forever.

Deliberately not here: defaulting (the server-side dry-run does that authoritatively), ignore rules
(``ignore.py``) and Secret masking (``masking.py``). ``ownerReferences`` are kept: they are real
relationships a user may set. The result is for comparing and showing, never for applying: an
``emptyDir: {}`` disappears from it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

_SERVER_METADATA = frozenset(
    {
        "managedFields",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``obj`` without server-owned fields, ``None`` values and empty maps/lists."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "status":
            continue
        if key == "metadata" and isinstance(value, Mapping):
            value = _metadata(value)
        cleaned = _clean(value)
        if cleaned is not _DROP:
            out[key] = cleaned
    return out


def _metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in meta.items() if k not in _SERVER_METADATA}
    annotations = out.get("annotations")
    if isinstance(annotations, Mapping) and LAST_APPLIED_ANNOTATION in annotations:
        out["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED_ANNOTATION}
    return out


class _Drop:
    """Sentinel for "the server would not keep this value"."""


_DROP: Any = _Drop()


def _clean(value: Any) -> Any:
    if value is None:
        return _DROP
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            cleaned = _clean(v)
            if cleaned is not _DROP:
                out[k] = cleaned
        return out if out else _DROP
    if isinstance(value, list):
        # An element that cleans to nothing stays as {} so list positions keep their meaning.
        items = [{} if (c := _clean(v)) is _DROP else c for v in value]
        return items if items else _DROP
    return value


def fold_string_data(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """A core Secret with ``stringData`` merged into base64 ``data``, as the API server stores it.

    The live Secret never has ``stringData``, so without this a manifest using it would never look
    like a subset of its live object. Anything else is returned as is (not copied).
    """
    string_data = obj.get("stringData")
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1" or not isinstance(string_data, Mapping):
        return obj
    data = dict(obj.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out = {k: v for k, v in obj.items() if k != "stringData"}
    out["data"] = data
    return out
