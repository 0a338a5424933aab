"""Which engine renders a directory when the user did not say: kustomize, helm, or plain files.

Kustomize wins over Helm when both files exist, as in Argo CD: a kustomization that wraps a chart
directory is the more specific intent. Deliberately not here: any parsing of those files.
"""

from __future__ import annotations

from pathlib import Path

from gitward.core.errors import RenderError
from gitward.render.params import ENGINES

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CHART_FILE = "Chart.yaml"


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def detect_engine(directory: Path, *, hint: str | None = None) -> str:
    """``hint`` when given (checked), else detected from the files in ``directory``."""
    if hint is not None:
        if hint not in ENGINES:
            raise RenderError(f"unknown render engine {hint!r}; expected one of {', '.join(ENGINES)}")
        return hint
    if kustomization_file(directory) is not None:
        return "kustomize"
    if (directory / CHART_FILE).is_file():
        return "helm"
    return "plain"
