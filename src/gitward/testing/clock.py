"""A clock tests move by hand, so timing logic (intervals, jitter, backoff) runs without sleeping."""

from __future__ import annotations


class FakeClock:
    """Implements ``core.clock.Clock``; both clocks start where given and move only on ``advance``."""

    def __init__(self, *, wall: float = 1_700_000_000.0, monotonic: float = 1000.0) -> None:
        self._wall = wall
        self._monotonic = monotonic

    def now(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._monotonic += seconds
