"""Sending one request to the API server: rate limit, count, retry short blips, map errors.

Every request gitward makes to a cluster passes through ``ApiTransport.request`` or ``.stream``, so
this is the one place that knows about token buckets, request counts by verb, ``Retry-After`` and
how an HTTP answer becomes a ``ClusterError``. Bodies are never logged or put into messages.

Deliberately not here: URL construction and object semantics (``cluster.lightkube_client``), and
which HTTP library puts a request on the wire (``cluster.senders``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from gitward.cluster.failures import RETRYABLE_STATUSES, RetryPolicy, error_from_response, parse_retry_after
from gitward.cluster.ratelimit import TokenBucket
from gitward.cluster.senders import Params, Sender, Unreachable
from gitward.core.errors import ClusterError

#: The verbs requests are counted under; ``dryrun`` is an apply with ``dryRun=All``.
VERBS = ("get", "list", "watch", "apply", "dryrun", "delete", "discovery", "other")


class ApiTransport:
    """One cluster's connection pools with gitward's request policy around them: ``sender`` for
    requests, ``watch_http`` for watch streams."""

    def __init__(
        self,
        sender: Sender,
        *,
        bucket: TokenBucket,
        watch_http: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sender = sender
        self._watch_http = watch_http
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
                status, body, retry_after = await self._sender.send(
                    method, path, params=params, content=content, headers=headers
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

    @asynccontextmanager
    async def stream(
        self, verb: str, path: str, *, what: str, params: Params, read_timeout: float
    ) -> AsyncIterator[httpx.Response]:
        """A streaming GET (watch) whose start is retried like any request; the body is the caller's."""
        timeout = httpx.Timeout(self._watch_http.timeout.connect, read=read_timeout)
        request = self._watch_http.build_request("GET", path, params=params, timeout=timeout)
        attempt = 0
        while True:
            attempt += 1
            await self._bucket.acquire()
            self._counts[verb] += 1
            try:
                response = await self._watch_http.send(request, stream=True)
            except httpx.TransportError as err:
                self._answers[(verb, "error")] += 1
                if attempt >= self._retry.attempts:
                    raise self._unreachable(what, str(err) or type(err).__name__) from None
                await self._sleep(self._retry.delay(attempt))
                continue
            self._answers[(verb, str(response.status_code))] += 1
            if response.status_code < 400:
                break
            body = await response.aread()
            await response.aclose()
            if response.status_code in RETRYABLE_STATUSES and attempt < self._retry.attempts:
                hint = parse_retry_after(response.headers.get("Retry-After"))
                await self._sleep(self._retry.delay(attempt, retry_after=hint))
                continue
            raise error_from_response(response.status_code, body, what=what)
        try:
            yield response
        except httpx.TransportError as err:
            raise self._unreachable(what, str(err) or type(err).__name__) from None
        finally:
            await response.aclose()

    def _unreachable(self, what: str, detail: str) -> ClusterError:
        return ClusterError(f"{what}: API server {self.server} unreachable: {detail}", status=0)

    async def aclose(self) -> None:
        try:
            await self._sender.aclose()
        finally:
            await self._watch_http.aclose()


def json_body(data: Any) -> bytes:
    """Request bodies as JSON (valid YAML too, so it serves apply-patch+yaml)."""
    return orjson.dumps(data)
