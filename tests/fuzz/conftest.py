"""Hypothesis profiles for the fuzz tests (docs/reliability.md, "Fuzzing").

``ci`` (the default, what ``./dev test`` runs): a bounded budget, derandomized so that every run
tries the same examples and a failure reproduces anywhere, no example database written. The whole
folder stays within about a minute on two cores.

``GITWARD_FUZZ=long`` searches far longer with fresh random examples each run, remembering failing
ones under ``$GITWARD_CACHE/hypothesis`` so the next run tries them first. ``GITWARD_FUZZ=long:N``
sets the examples per property to N.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

CI_EXAMPLES = 200
LONG_EXAMPLES = 20_000

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _long_profile(examples: int) -> None:
    cache = Path(os.environ.get("GITWARD_CACHE", Path.home() / ".cache" / "gitward"))
    settings.register_profile(
        "long",
        max_examples=examples,
        deadline=None,
        database=DirectoryBasedExampleDatabase(cache / "hypothesis"),
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


_mode, _, _count = os.environ.get("GITWARD_FUZZ", "ci").partition(":")
if _mode == "long":
    _long_profile(int(_count) if _count.isdigit() else LONG_EXAMPLES)
    settings.load_profile("long")
else:
    settings.load_profile("ci")
