"""One target's delivery logic with an in-memory sender (timing and ordering only; the real HTTP is
in tests/integration/engine/test_engine_notifications.py): retries and their backoff, what is final,
the rate limit and the bounded queue, each counted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY

from gitward.model.notification import DeliveryRetry, RateLimit
from gitward.notify import delivery
from gitward.notify.delivery import TargetWorker, TokenBucket, check_answer
from gitward.notify.events import AppEvent
from gitward.notify.message import Message, Request
from gitward.notify.secrets import DeliveryError, Skipped

EVENT = AppEvent("SyncFailed", "web", "default", "local", "web", "https://h/o/r", "main", "a" * 40, "x",
                 "OutOfSync", "Healthy")  # fmt: skip


def sample(label: str, result: str) -> float:
    return (
        REGISTRY.get_sample_value("gitward_notifications_total", {"target": label, "result": result}) or 0.0
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits recorded instead of slept (asyncio.sleep itself is replaced, so yield for real)."""
    waited: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(delivery.asyncio, "sleep", sleep)
    return waited


def worker(label: str, answers: list[Any], failures: list[str], **settings: Any) -> TargetWorker:
    async def send(request: Request, timeout: float) -> tuple[int, str | None]:  # noqa: ASYNC109
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def build(message: Message) -> Request:
        if settings.get("skip"):
            raise Skipped("no commit")
        return Request("http://127.0.0.1:9/", {}, b"{}")

    retry = DeliveryRetry.model_validate(
        settings.get("retry", {"limit": 3, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "3s"}})
    )
    return TargetWorker(
        label=label,
        description=f"notification n, target {label}",
        queue_size=settings.get("queue_size", 10),
        rate_limit=RateLimit.model_validate(settings.get("rate", {"count": 100, "per": "1m"})),
        retry=retry,
        timeout=5.0,
        build=build,
        send=send,
        on_failure=lambda message, why: failures.append(why),
        monotonic=settings.get("monotonic", lambda: 0.0),
    )


def message() -> Message:
    return Message("id-1", "n", EVENT, "text", "")


async def test_retryable_answers_are_retried_with_growing_backoff_then_sent(sleeps: list[float]) -> None:
    failures: list[str] = []
    answers: list[Any] = [
        (500, None),
        DeliveryError("connection failed", retry=True),
        (429, "2"),
        (201, None),
    ]
    w = worker("unit-retry", answers, failures)
    assert await w.deliver(message())
    assert sleeps == [1.0, 2.0, 3.0]  # 1s, 2s, then 4s capped at maxDuration 3s (Retry-After 2 is less)
    assert failures == []
    assert (sample("unit-retry", "retried"), sample("unit-retry", "sent")) == (3.0, 1.0)


async def test_a_message_given_up_is_reported_once_naming_the_answer(sleeps: list[float]) -> None:
    failures: list[str] = []
    w = worker("unit-giveup", [(500, None)] * 4, failures)
    assert not await w.deliver(message())
    assert len(sleeps) == 3
    assert failures == [
        "notification n, target unit-giveup: the SyncFailed message failed after 4 attempts: HTTP 500"
    ]
    assert sample("unit-giveup", "failed") == 1.0


@pytest.mark.parametrize(("status", "why"), [(401, "HTTP 401"), (404, "HTTP 404"), (302, "redirects")])
async def test_other_answers_are_final(sleeps: list[float], status: int, why: str) -> None:
    failures: list[str] = []
    w = worker(f"unit-final-{status}", [(status, None)], failures)
    assert not await w.deliver(message())
    assert sleeps == []
    assert why in failures[0]
    assert "at the first attempt" in failures[0]


async def test_a_skipped_message_is_counted_and_not_a_failure(sleeps: list[float]) -> None:
    failures: list[str] = []
    w = worker("unit-skip", [], failures, skip=True)
    assert not await w.deliver(message())
    assert failures == []
    assert sample("unit-skip", "skipped") == 1.0


async def test_over_the_rate_limit_messages_are_dropped_and_counted() -> None:
    now = [0.0]
    w = worker("unit-rate", [], [], rate={"count": 2, "per": "1m"}, monotonic=lambda: now[0])
    assert [w.offer(message()) for _ in range(5)] == [True, True, False, False, False]
    now[0] += 30  # half the period refills one message
    assert [w.offer(message()) for _ in range(2)] == [True, False]
    assert sample("unit-rate", "rate_limited") == 4.0
    assert w.queue.qsize() == 3


async def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    w = worker("unit-full", [], [], queue_size=2)
    assert [w.offer(message()) for _ in range(4)] == [True, True, False, False]
    assert sample("unit-full", "dropped") == 2.0


async def test_the_worker_keeps_going_after_a_failure(sleeps: list[float]) -> None:
    failures: list[str] = []
    w = worker("unit-run", [(400, None), (200, None)], failures)
    w.offer(message())
    w.offer(message())
    task = asyncio.create_task(w.run())
    for _ in range(1000):
        if sample("unit-run", "sent") == 1:
            break
        await asyncio.sleep(0)
    task.cancel()
    assert sample("unit-run", "sent") == 1
    assert len(failures) == 1


def test_token_bucket_refills_at_its_rate_up_to_its_size() -> None:
    bucket = TokenBucket(RateLimit(count=1, per=10.0), now=0.0)
    assert bucket.take(0.0)
    assert not bucket.take(5.0)
    assert bucket.take(10.0)
    assert not bucket.take(10.0)


def test_answers() -> None:
    assert check_answer(204, None) is None
    late = check_answer(503, "7")
    assert late is not None
    assert late.retry
    assert late.retry_after == 7.0
    assert check_answer(429, "Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None  # type: ignore[union-attr]
    assert not check_answer(422, None).retry  # type: ignore[union-attr]
