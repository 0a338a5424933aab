"""What render takes and gives: parameters in, a list of manifests and their digest out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RenderResult:
    manifests: tuple[dict[str, Any], ...]
    digest: str  # sha256 of the canonical JSON of the manifests
    engine: str  # "plain" | "kustomize" | "helm"
    warnings: tuple[str, ...] = field(default_factory=tuple)
