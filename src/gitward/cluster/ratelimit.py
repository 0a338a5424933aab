"""Client-side rate limiting: a token bucket of ``qps`` tokens per second holding at most ``burst``.

Every request to the API server (watch starts included) takes one token, so a reconcile storm cannot
flood a cluster; a quiet client saves up to ``burst`` tokens for the next storm. The bucket is fair
in arrival order because each caller reserves its slot before sleeping.

Deliberately not here: per-verb or priority buckets (the API server's own priority and fairness
handles that) and any global limit shared across clusters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gitward.core.clock import Clock, SystemClock


@dataclass(frozen=True)
class RateLimit:
    """Settings: sustained requests per second and the largest burst; ``qps <= 0`` disables limiting."""

    qps: float = 50.0
    burst: int = 100


class TokenBucket:
    """Async token bucket; ``acquire()`` returns when the caller may send one request."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit.burst < 1:
            raise ValueError("burst must be at least 1")
        self._limit = limit
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._updated = self._clock.monotonic()

    @property
    def limit(self) -> RateLimit:
        return self._limit

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self._limit.burst), self._tokens + elapsed * self._limit.qps)
        self._updated = now

    def reserve(self) -> float:
        """Take one token now (possibly going into debt) and return how long to wait before using it.

        Going into debt instead of looping keeps waiters in arrival order without a lock.
        """
        if self._limit.qps <= 0:
            return 0.0
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._limit.qps

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)
