"""The in-memory kube and the fake-clock view of ``tests/unit/apply`` drive the executor here too."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "apply"))
