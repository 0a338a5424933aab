"""Time as a seam: the control loop asks a ``Clock`` so timing logic can be tested without sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock, for records)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals and backoff)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
