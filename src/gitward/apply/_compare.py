"""Small comparisons apply needs to decide "did this object drift?" without asking the API.

- ``desired_digest``: sha256 of the canonical JSON of a marked manifest; equal digests mean the
  user asked for exactly the same thing as last time.
- ``is_subset``: ``diff.subset.is_subset`` after folding a Secret's write-only ``stringData`` into
  ``data``, the cheap proof that nothing we own drifted.
- ``comparable``: ``diff.normalize`` (no managedFields, resourceVersion, generation, status), so a
  dry-run result can be compared with live.

Deliberately not here: ignore rules and semantic normalisation (quantities, defaults) — the
authoritative answer comes from the server-side dry-run, these helpers only decide when it can be skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from gitward.diff.normalize import normalize
from gitward.diff.subset import is_subset as _diff_is_subset


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def desired_digest(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def resource_version(obj: Mapping[str, Any] | None) -> str:
    if not obj:
        return ""
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _secret_as_data(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Secrets: ``stringData`` is write-only and lands in ``data`` base64-encoded, so compare it there."""
    if obj.get("kind") != "Secret" or not obj.get("stringData"):
        return obj
    out = dict(obj)
    data = dict(out.get("data") or {})
    for name, value in (out.pop("stringData") or {}).items():
        data[name] = base64.b64encode(str(value).encode()).decode()
    out["data"] = data
    return out


def is_subset(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """True when every field ``desired`` sets is present in ``live`` with the same value."""
    want = dict(_secret_as_data(desired))
    want.pop("status", None)
    return _diff_is_subset(want, dict(live))


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without server-maintained fields, for dry-run vs live equality."""
    return normalize(obj)
