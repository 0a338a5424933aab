"""What a fetch produces: an immutable, content-addressed view of one Git revision's path.

Render and everything after it work from an ``Artifact`` and never touch Git, so a render can be cached
by ``tree`` (the Git tree hash of the app's path at that commit) and re-done only when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Artifact:
    url: str  # the repository URL as the user wrote it (credentials never included)
    revision: str  # what the user asked for: branch, tag, semver range or SHA
    commit: str  # the resolved full commit SHA
    path: str  # the app's path inside the repository ("" for the root)
    tree: str  # Git tree hash of ``path`` at ``commit`` ("" when the path does not exist)
    root: Path  # a directory holding the checkout of the commit (read-only use)
    partial: bool = False  # the checkout holds only ``path`` (``GitCache.checkout``)

    @property
    def directory(self) -> Path:
        return self.root / self.path if self.path else self.root
