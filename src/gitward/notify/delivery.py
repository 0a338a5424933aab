"""One target's delivery: a bounded queue, a rate limit, and one worker that sends with retries.

Why one queue and one worker per target: a slow or failing target (a host answering 500, a
timeout) then delays only its own messages, never another target's and never the engine. The
engine's side is ``offer``: synchronous, O(1), it never waits. A message over the target's rate
limit, or arriving while its queue is full, is dropped and counted
(``gitward_notifications_total{result="rate_limited"|"dropped"}``) instead of growing memory or
blocking (docs/reliability.md, "Notifications").

The worker sends one message at a time, in order. An attempt that got no answer, or 408, 429 or a
5xx, is retried after a backoff that grows by ``factor`` up to ``maxDuration`` (a ``Retry-After`` in
seconds is honoured up to that bound); any other answer is final. A message given up is reported
once through ``on_failure`` (the engine records a ``NotificationFailed`` event on the app). Redirects
are not followed: a token or signature is sent only to the address configured.

Deliberately not here: what is sent (``chat``, ``commitstatus``), which events are sent (``notifier``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gitward.model.notification import DeliveryRetry, RateLimit
from gitward.notify.message import Message, Request
from gitward.notify.metrics import count
from gitward.notify.secrets import DeliveryError, Skipped

log = logging.getLogger("gitward.notify")

#: Sends one request; returns (status code, Retry-After header); raises ``DeliveryError`` on no answer.
Send = Callable[[Request, float], Awaitable[tuple[int, str | None]]]
Build = Callable[[Message], Awaitable[Request]]
OnFailure = Callable[[Message, str], None]


class TokenBucket:
    """``count`` messages per ``per`` seconds, in bursts of up to ``count``."""

    def __init__(self, limit: RateLimit, *, now: float) -> None:
        self.capacity = float(limit.count)
        self.rate = limit.count / limit.per
        self.tokens = self.capacity
        self.at = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def check_answer(status: int, retry_after: str | None) -> DeliveryError | None:
    """None for a 2xx; otherwise what went wrong and whether a retry may help."""
    if 200 <= status < 300:
        return None
    if status in (408, 429) or status >= 500:
        wait = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
        return DeliveryError(f"HTTP {status}", retry=True, retry_after=wait)
    if 300 <= status < 400:
        return DeliveryError(f"HTTP {status} (redirects are not followed)")
    return DeliveryError(f"HTTP {status}")


class TargetWorker:
    def __init__(
        self,
        *,
        label: str,
        description: str,
        queue_size: int,
        rate_limit: RateLimit,
        retry: DeliveryRetry,
        timeout: float,
        build: Build,
        send: Send,
        on_failure: OnFailure,
        monotonic: Callable[[], float],
    ) -> None:
        self.label = label  # notification/target: the metric's label
        self.description = description  # "notification N, target T (type)": for events
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self.bucket = TokenBucket(rate_limit, now=monotonic())
        self.retry = retry
        self.timeout = timeout
        self._build, self._send, self._on_failure = build, send, on_failure
        self._monotonic = monotonic
        self._busy = False

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent."""
        return self.queue.empty() and not self._busy

    def offer(self, message: Message) -> bool:
        """Queue ``message`` unless over the rate limit or the queue is full; never waits."""
        if not self.bucket.take(self._monotonic()):
            count(self.label, "rate_limited")
            log.debug("%s: over its rate limit, a %s message dropped", self.label, message.event.trigger)
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            count(self.label, "dropped")
            log.debug("%s: queue full, a %s message dropped", self.label, message.event.trigger)
            return False
        return True

    async def run(self) -> None:
        while True:
            message = await self.queue.get()
            self._busy = True
            try:
                await self.deliver(message)
            except Exception:  # a bug here must not end this target's deliveries
                log.exception("%s: delivery failed unexpectedly", self.label)
                count(self.label, "failed")
            finally:
                self._busy = False

    async def deliver(self, message: Message) -> bool:
        """Send with retries; True when the target took it."""
        backoff = self.retry.backoff
        delay = backoff.duration
        attempts = 0
        while True:
            attempts += 1
            try:
                request = await self._build(message)
                error = check_answer(*await self._send(request, self.timeout))
            except Skipped as skipped:
                count(self.label, "skipped")
                log.info("%s: %s", self.label, skipped)
                return False
            except DeliveryError as failed:
                error = failed
            if error is None:
                count(self.label, "sent")
                return True
            if not error.retry or attempts > self.retry.limit:
                count(self.label, "failed")
                tries = f"after {attempts} attempts" if attempts > 1 else "at the first attempt"
                why = f"{self.description}: the {message.event.trigger} message failed {tries}: {error}"
                self._on_failure(message, why)
                return False
            count(self.label, "retried")
            await asyncio.sleep(min(max(delay, error.retry_after or 0.0), backoff.max_duration))
            delay = min(delay * backoff.factor, backoff.max_duration)
