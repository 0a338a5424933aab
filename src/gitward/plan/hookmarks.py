"""The marks a hook carries: how gitward finds its earlier runs without ever treating it as an app object.

An app object carries the tracking annotation and the managed-by label (``core.marks``), which make it
part of the app: it is listed when an inventory is rebuilt and pruned when it leaves Git. A hook must
never be either: its lifetime is its delete policy's (docs/architecture.md, "The plan and the
executor"). So a hook carries neither mark, and instead:

- the label ``gitward.dev/hook-id``: a digest of the app and the hook's identity (kind, namespace and
  its name, or its ``generateName`` prefix). It does not depend on the name, so BeforeHookCreation
  finds the earlier runs of a ``generateName`` hook by a label selector; it is a digest because a
  label value is at most 63 characters and app names may be longer;
- the annotation ``gitward.dev/hook-of``: the app and the identity in clear, checked on every object
  the selector finds before it is deleted, so a copied label deletes nothing of anyone else's.

Deliberately not here: creating, waiting for or deleting hooks (``apply.hooks``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.core.marks import MANAGED_BY_LABEL, MANAGED_BY_VALUE, TRACKING_ANNOTATION

HOOK_LABEL = "gitward.dev/hook-id"
HOOK_ANNOTATION = "gitward.dev/hook-of"


def hook_identity(app: str, key: ResourceKey) -> str:
    """``app:group/kind:namespace/name``; ``name`` is the generateName prefix for a generated hook."""
    return f"{app}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def hook_label_value(app: str, key: ResourceKey) -> str:
    return hashlib.sha256(hook_identity(app, key).encode()).hexdigest()[:40]


def hook_selector(app: str, key: ResourceKey) -> str:
    """The label selector that lists every run of this hook of this app, whatever its name."""
    return f"{HOOK_LABEL}={hook_label_value(app, key)}"


def with_hook_marks(manifest: Mapping[str, Any], app: str, key: ResourceKey) -> dict[str, Any]:
    """A copy of a hook's manifest with the hook marks, and without the marks of an app object.

    The managed-by label is removed only when it says gitward (a chart's own value is the chart's).
    """
    out = dict(manifest)
    meta = dict(out.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        del labels[MANAGED_BY_LABEL]
    annotations.pop(TRACKING_ANNOTATION, None)
    labels[HOOK_LABEL] = hook_label_value(app, key)
    annotations[HOOK_ANNOTATION] = hook_identity(app, key)
    meta["labels"] = labels
    meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def is_hook_of(live: Mapping[str, Any] | None, app: str, key: ResourceKey) -> bool:
    """Whether a live object is a run of this hook of this app (its annotation names both)."""
    if live is None:
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(HOOK_ANNOTATION) == hook_identity(app, key))
