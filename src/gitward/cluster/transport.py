"""Sending one request to the API server: rate limit, count, retry short blips, map errors.

Every request gitward makes to a cluster passes through ``ApiTransport.request`` or ``.stream``, so
this is the one place that knows about token buckets, request counts by verb, ``Retry-After`` and
how an HTTP answer becomes a ``ClusterError``. Bodies are never logged or put into messages.

With several replicas it is also where every write asks the write fence (``replicas/fence.py``),
after the rate limiter and right before the request is handed to the connection pool; the hand-off
itself is bounded by the fence's deadline, so a write waiting for a free connection when the
deadline passes is never sent (``WriteFence`` in ``ConnectionSettings``). Dry runs write nothing
and are not fenced.

Deliberately not here: URL construction and object semantics (``cluster.lightkube_client``), and
which HTTP library puts a request on the wire (``cluster.senders``).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import orjson

from gitward.cluster.failures import RETRYABLE_STATUSES, RetryPolicy, error_from_response, parse_retry_after
from gitward.cluster.ratelimit import TokenBucket
from gitward.cluster.senders import Answer, Params, Sender, Unreachable
from gitward.core.errors import ClusterError, Fenced

#: The verbs requests are counted under; ``dryrun`` is an apply or create with ``dryRun=All``;
#: ``create`` is a POST, ``update`` a PUT (``Replace=true``).
VERBS = ("get", "list", "watch", "apply", "dryrun", "create", "update", "delete", "discovery", "other")

#: Asked before each write is sent: returns the monotonic time left until the replica's fence closes
#: (``math.inf`` without one), or raises ``Fenced`` when no write may be sent now.
WriteFence = Callable[[], float]


class ApiTransport:
    """One cluster's connections (``sender``) with gitward's request policy around them."""

    def __init__(
        self,
        sender: Sender,
        *,
        bucket: TokenBucket,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fence: WriteFence | None = None,
    ) -> None:
        self._sender = sender
        self._fence = fence
        self._bucket = bucket
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._counts: Counter[str] = Counter()
        self._answers: Counter[tuple[str, str]] = Counter()  # (verb, HTTP status or "error")

    @property
    def server(self) -> str:
        return self._sender.base_url

    def counts(self) -> dict[str, int]:
        return {verb: self._counts[verb] for verb in VERBS}

    def answer_counts(self) -> dict[tuple[str, str], int]:
        """Requests by (verb, status code); ``"error"`` when no answer came (connection failed)."""
        return dict(self._answers)

    async def request(
        self,
        verb: str,
        method: str,
        path: str,
        *,
        what: str,
        params: Params | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        not_found_ok: bool = False,
        secrets: Iterable[str] = (),
    ) -> tuple[int, bytes]:
        """(status, body) of a successful answer, or of a 404 when ``not_found_ok``; else raises."""
        attempt = 0
        while True:
            attempt += 1
            await self._bucket.acquire()
            self._counts[verb] += 1
            try:
                status, body, retry_after = await self._send(
                    verb, method, path, params, content, headers, what
                )
            except Unreachable as err:
                self._answers[(verb, "error")] += 1
                if attempt >= self._retry.attempts:
                    raise self._unreachable(what, str(err)) from None
                await self._sleep(self._retry.delay(attempt))
                continue
            self._answers[(verb, str(status))] += 1
            if status < 400 or (status == 404 and not_found_ok):
                return status, body
            if status in RETRYABLE_STATUSES and attempt < self._retry.attempts:
                hint = parse_retry_after(retry_after)
                await self._sleep(self._retry.delay(attempt, retry_after=hint))
                continue
            raise error_from_response(status, body, what=what, secrets=secrets)

    async def _send(
        self,
        verb: str,
        method: str,
        path: str,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        what: str,
    ) -> Answer:
        """One attempt; a write first passes the fence and must leave before the fence closes."""
        if self._fence is None or method == "GET" or verb == "dryrun":
            return await self._sender.send(method, path, params=params, content=content, headers=headers)
        left = self._fence()
        try:
            async with asyncio.timeout(left if math.isfinite(left) else None):
                return await self._sender.send(method, path, params=params, content=content, headers=headers)
        except TimeoutError:
            raise Fenced(
                f"{what}: the replica's lease deadline passed before the write was answered "
                "(not sent, or sent in time and its outcome unknown)"
            ) from None

    @asynccontextmanager
    async def stream(
        self, verb: str, path: str, *, what: str, params: Params, read_timeout: float
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A streaming GET (watch) whose start is retried like any request; yields its lines."""
        attempt = 0
        async with AsyncExitStack() as stack:
            while True:
                attempt += 1
                await self._bucket.acquire()
                self._counts[verb] += 1
                opening = self._sender.stream(path, params=params, read_timeout=read_timeout)
                try:
                    answer = await stack.enter_async_context(opening)
                    status = answer.status
                    body = b"" if status < 400 else await answer.read()
                except Unreachable as err:
                    self._answers[(verb, "error")] += 1
                    if attempt >= self._retry.attempts:
                        raise self._unreachable(what, str(err)) from None
                    await stack.aclose()
                    await self._sleep(self._retry.delay(attempt))
                    continue
                self._answers[(verb, str(status))] += 1
                if status < 400:
                    break
                await stack.aclose()
                if status in RETRYABLE_STATUSES and attempt < self._retry.attempts:
                    hint = parse_retry_after(answer.retry_after)
                    await self._sleep(self._retry.delay(attempt, retry_after=hint))
                    continue
                raise error_from_response(status, body, what=what)
            try:
                yield answer.lines()
            except Unreachable as err:
                raise self._unreachable(what, str(err)) from None

    def _unreachable(self, what: str, detail: str) -> ClusterError:
        return ClusterError(f"{what}: API server {self.server} unreachable: {detail}", status=0)

    async def aclose(self) -> None:
        await self._sender.aclose()


def json_body(data: Any) -> bytes:
    """Request bodies as JSON (valid YAML too, so it serves apply-patch+yaml)."""
    return orjson.dumps(data)
