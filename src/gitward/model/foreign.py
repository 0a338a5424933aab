"""Helpers shared by the Argo CD and Flux readers: strict field checks and safe YAML for values.

Foreign objects are converted into gitward documents and then validated as Applications, so every
gitward rule applies to them too. A foreign field gitward cannot honour is an error naming that field,
never silently dropped: running an object differently from what its author meant is worse than not
running it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from gitward.model.common import API_VERSION
from gitward.model.errors import ConversionError

#: Annotation on converted Applications naming the object they were read from.
CONVERTED_FROM_ANNOTATION = "gitward.dev/converted-from"

#: Inline Helm values written as a YAML string are capped before parsing (docs/architecture.md, safety rules).
MAX_INLINE_VALUES_BYTES = 1 << 20


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a mapping (``None`` -> empty), or an error naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConversionError(f"{where} must be a mapping")
    return value


def only(data: Mapping[str, Any], *, allowed: Iterable[str], where: str) -> None:
    """Refuse fields gitward does not run; the first unknown one (sorted) is named."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConversionError(f"{where}.{unknown[0]} is not supported by gitward")


def pick(data: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """Copy the keys present in ``data`` under their gitward names."""
    return {new: data[old] for old, new in renames.items() if data.get(old) is not None}


def inline_values(text: Any, where: str) -> dict[str, Any]:
    """Helm values written as a YAML string: size-capped, aliases refused, must be a mapping.

    Parser messages are not passed on: they quote the text, which may hold secrets.
    """
    if not isinstance(text, str):
        raise ConversionError(f"{where} must be a YAML string")
    if len(text.encode()) > MAX_INLINE_VALUES_BYTES:
        raise ConversionError(f"{where} is larger than {MAX_INLINE_VALUES_BYTES} bytes")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ConversionError(f"{where} uses YAML aliases, which are not allowed")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConversionError(f"{where} is not valid YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConversionError(f"{where} must be a YAML mapping")
    return data


def converted_metadata(obj: Mapping[str, Any], *, origin: str) -> dict[str, Any]:
    """Name, namespace, labels and annotations of the foreign object, plus where it came from."""
    meta = mapping(obj.get("metadata"), "metadata")
    annotations = dict(mapping(meta.get("annotations"), "metadata.annotations"))
    annotations[CONVERTED_FROM_ANNOTATION] = origin
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace") or "",
        "labels": dict(mapping(meta.get("labels"), "metadata.labels")),
        "annotations": annotations,
    }


def application_document(metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": spec}
