"""Per-app exponential backoff after failures, from the app's ``syncPolicy.retry`` settings.

Why a separate piece: the pipeline decides *that* something failed and whether it is worth retrying
(the error tree in ``core.errors``); this decides *when*, so timing is unit-tested with a fake clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0
    limit: int = 5  # retries before the app stops retrying until something changes; < 0 = unlimited
    jitter: float = 0.1


class Backoff:
    """Remembers consecutive failures per key and says how long to wait before the next attempt."""

    def __init__(self) -> None:
        self._failures: dict[str, int] = {}

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    def record_failure(self, key: str, policy: BackoffPolicy) -> float | None:
        """Delay before the next retry, or None when the retry limit is exhausted."""
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if 0 <= policy.limit < count:
            return None
        delay = min(policy.max_duration, policy.duration * policy.factor ** (count - 1))
        return delay * (1 + random.uniform(-policy.jitter, policy.jitter))

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)


def jittered(interval: float, *, fraction: float = 0.1) -> float:
    """Spread periodic resyncs so thousands of apps do not wake in the same second."""
    return interval * (1 + random.uniform(-fraction, fraction))
