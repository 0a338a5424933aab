"""Token bucket: bursts pass at once, then requests are spaced at 1/qps; a fake clock, no sleeping."""

from __future__ import annotations

import pytest

from gitward.cluster.ratelimit import RateLimit, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


async def test_burst_passes_without_waiting_then_spaced_by_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(qps=10.0, burst=3), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert clock.slept == []
    await bucket.acquire()
    await bucket.acquire()
    assert clock.slept == pytest.approx([0.1, 0.1])


def test_waiters_reserve_in_arrival_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(qps=2.0, burst=1), clock=clock)
    delays = [bucket.reserve() for _ in range(4)]
    # Each caller goes further into debt, so later callers wait longer: no one is starved.
    assert delays == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_idle_time_refills_up_to_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(qps=5.0, burst=2), clock=clock)
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.0
    clock.t += 3600  # a long quiet hour saves only ``burst`` tokens
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.2])


def test_zero_qps_disables_limiting() -> None:
    bucket = TokenBucket(RateLimit(qps=0.0, burst=1), clock=FakeClock())
    assert all(bucket.reserve() == 0.0 for _ in range(100))


def test_burst_must_be_positive() -> None:
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(RateLimit(qps=1.0, burst=0))
