"""A human-readable unified diff of one object, for the CLI, the API and the UI.

Both sides are masked first (Secret values never leave this function in clear) and then normalised,
dumped as YAML with sorted keys so the diff shows only real differences, never key order.

Deliberately not here: colouring and HTML (the callers style it), ignore rules (callers pass the
already-compared objects when they want them hidden).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml

from gitward.core.keys import ResourceKey
from gitward.diff.masking import mask_secrets
from gitward.diff.normalize import normalize


def unified_diff(
    key: ResourceKey,
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    *,
    context: int = 3,
) -> str:
    """``live`` -> ``desired`` as a unified diff; ``""`` when they are the same after normalising.

    A missing side (object to be created, or pruned) diffs against an empty document.
    """
    masked_desired, masked_live = mask_secrets(desired, live)
    before = _dump(masked_live)
    after = _dump(masked_desired)
    if before == after:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=_header("live", key),
        tofile=_header("desired", key),
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _header(side: str, key: ResourceKey) -> str:
    parts = [side, key.kind, key.namespace, key.name] if key.namespace else [side, key.kind, key.name]
    return "/".join(parts)


def _dump(obj: Mapping[str, Any] | None) -> str:
    if obj is None:
        return ""
    return yaml.safe_dump(normalize(obj), sort_keys=True, default_flow_style=False, allow_unicode=True)
