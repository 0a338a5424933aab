"""Turn parsed documents into Kubernetes manifests: flatten ``List`` kinds, check the basics, digest.

A manifest must be a mapping with a non-empty string ``apiVersion`` and ``kind`` and a
``metadata.name`` (or ``metadata.generateName``, which hooks use); anything else is a render error
naming where the document came from (docs/reliability.md, bad input 7). Whether the kind exists on the
cluster is checked later, against discovery, not here.

Deliberately not here: parsing text, project policy, duplicate detection (``policy``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from gitward.core.errors import RenderError


def _is_list_kind(document: dict[str, Any]) -> bool:
    kind = document.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list)


def _problem(document: Any) -> str | None:
    if not isinstance(document, dict):
        return f"expected a mapping, got {type(document).__name__}"
    for field in ("apiVersion", "kind"):
        value = document.get(field)
        if not isinstance(value, str) or not value:
            return f"missing {field}"
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return "missing metadata"
    name = metadata.get("name") or metadata.get("generateName")
    if not isinstance(name, str) or not name:
        return "missing metadata.name"
    return None


def _describe(document: Any) -> str:
    if isinstance(document, dict):
        kind = document.get("kind")
        if isinstance(kind, str) and kind:
            return f" ({kind})"
    return ""


def collect_manifests(documents: Iterable[Any], *, where: str) -> list[dict[str, Any]]:
    """Checked manifests from the documents of one file or tool output; ``List`` items flattened.

    ``where`` names the source in errors: a path relative to the repository, or a tool's output.
    """
    manifests: list[dict[str, Any]] = []
    for index, document in enumerate(documents, start=1):
        if isinstance(document, dict) and _is_list_kind(document):
            for item_index, item in enumerate(document["items"], start=1):
                problem = _problem(item)
                if problem:
                    raise RenderError(
                        f"{where}: document {index}, item {item_index}{_describe(item)}: {problem}"
                    )
                manifests.append(item)
            continue
        problem = _problem(document)
        if problem:
            raise RenderError(f"{where}: document {index}{_describe(document)}: {problem}")
        manifests.append(document)
    return manifests


def canonical_json(manifests: Iterable[dict[str, Any]]) -> bytes:
    """JSON with sorted keys: the same objects always give the same bytes."""
    try:
        return orjson.dumps(list(manifests), option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise RenderError(f"manifests are not representable as JSON: {exc}") from None


def manifests_digest(manifests: Iterable[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_json(manifests)).hexdigest()
