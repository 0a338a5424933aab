"""The marks gitward puts on every object it applies, and how ownership is proven from them.

Prune is the most dangerous thing gitward does, so ownership is proven twice: the object must be in the
app's stored inventory *and* carry a tracking annotation naming that app and that exact object. A mark
copied onto a foreign object names another object and so proves nothing (docs/reliability.md, bad input 16).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.keys import ResourceKey

TRACKING_ANNOTATION = "gitward.dev/tracking-id"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "gitward"
FIELD_MANAGER = "gitward"


def tracking_id(app: str, key: ResourceKey) -> str:
    """``app:group/kind:namespace/name`` — names the app and the exact object it was applied as."""
    return f"{app}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """Split a tracking id back into (app, key); ``None`` when it is malformed."""
    try:
        app, group_kind, ns_name = value.split(":", 2)
        group, kind = group_kind.split("/", 1)
        namespace, name = ns_name.split("/", 1)
    except ValueError:
        return None
    if not app or not kind or not name:
        return None
    return app, ResourceKey(group, kind, namespace, name)


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The app named by a live object's mark, only if the mark names this very object."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    parsed = parse_tracking_id(str(annotations.get(TRACKING_ANNOTATION, "")))
    if parsed is None:
        return None
    app, key = parsed
    return app if key == ResourceKey.of(obj) else None


def is_owned_by(obj: Mapping[str, Any], app: str) -> bool:
    return owner_of(obj) == app


def with_marks(obj: dict[str, Any], app: str) -> dict[str, Any]:
    """A copy of a desired manifest carrying the tracking annotation and managed-by label."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    labels = dict(meta.get("labels") or {})
    annotations[TRACKING_ANNOTATION] = tracking_id(app, ResourceKey.of(obj))
    labels.setdefault(MANAGED_BY_LABEL, MANAGED_BY_VALUE)
    meta["annotations"] = annotations
    meta["labels"] = labels
    out["metadata"] = meta
    return out
