"""Putting one request on the wire: the HTTP libraries behind ``ApiTransport``.

Requests go through aiohttp over pooled HTTP/1.1 connections. Measured against the local
kube-apiserver (2000 concurrent server-side applies, 32 in flight): aiohttp spent 0.26 ms of client
CPU per request, httpx over HTTP/2 1.06 ms and httpx over HTTP/1.1 4.3 ms, and aiohttp finished the
batch in 1.9 s against 2.7 s for httpx over HTTP/2 (docs/benchmarks.md). With thousands of applies per
cold sync, the client's CPU is what bounds gitward, so the cheapest client wins; HTTP/2 was tried and
dropped because it measured slower.

Watch streams use a second aiohttp pool without a connection limit, so long-lived watches never take
the connections requests need; their lines are split here rather than by aiohttp's ``readline``,
which refuses a line above 128 KiB (a watch event carries a whole object, a large CRD included).
``HttpxSender`` lets tests script answers with ``httpx.MockTransport``.

Deliberately not here: retries, rate limits, counts and error mapping (``cluster.transport``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import NamedTuple, Protocol

import aiohttp
import httpx

import gitward

Params = Mapping[str, str | int]

#: Sent with every request; several replicas add their id (``ConnectionSettings.user_agent``).
USER_AGENT = f"gitward/{gitward.__version__}"

# What aiohttp raises when no (whole) answer came: refused, reset, TLS failure, timeout.
_AIOHTTP_BROKEN: tuple[type[Exception], ...] = (TimeoutError, aiohttp.ClientError)


class Answer(NamedTuple):
    """What came back: status, body and the ``Retry-After`` hint of a 429 or 503."""

    status: int
    body: bytes
    retry_after: str | None


class Unreachable(Exception):
    """No answer came: connection refused or reset, TLS failure, timeout. Worth a retry."""


class StreamAnswer(Protocol):
    """The start of a streaming answer; ``lines`` raises ``Unreachable`` if the stream breaks."""

    @property
    def status(self) -> int: ...

    @property
    def retry_after(self) -> str | None: ...

    async def read(self) -> bytes: ...

    def lines(self) -> AsyncIterator[bytes]: ...


class Sender(Protocol):
    """Sends one request and reads the whole answer, or opens a streaming GET (a watch)."""

    @property
    def base_url(self) -> str: ...

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer: ...

    def stream(
        self, path: str, *, params: Params, read_timeout: float
    ) -> AbstractAsyncContextManager[StreamAnswer]: ...

    async def aclose(self) -> None: ...


async def split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The newline-separated lines of a byte stream, however long each line is."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            yield bytes(pending[start:end])
            start = end + 1
        del pending[:start]
    if pending:
        yield bytes(pending)


class HttpxSender:
    """A ``Sender`` over an ``httpx.AsyncClient`` (scripted answers in tests)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        request = self._http.build_request(method, path, params=params, content=content, headers=headers)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as err:
            raise _unreachable(err) from None
        return Answer(response.status_code, response.content, response.headers.get("Retry-After"))

    @asynccontextmanager
    async def stream(self, path: str, *, params: Params, read_timeout: float) -> AsyncIterator[StreamAnswer]:
        timeout = httpx.Timeout(self._http.timeout.connect, read=read_timeout)
        request = self._http.build_request("GET", path, params=params, timeout=timeout)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as err:
            raise _unreachable(err) from None
        try:
            yield _Stream(
                response.status_code,
                response.headers.get("Retry-After"),
                read=response.aread,
                chunks=response.aiter_bytes,
                broken=(httpx.TransportError,),
            )
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()


class _Stream:
    """A ``StreamAnswer`` over either library: how to read the body, how to iterate its chunks, and
    which of the library's errors mean the connection broke."""

    def __init__(
        self,
        status: int,
        retry_after: str | None,
        *,
        read: Callable[[], Awaitable[bytes]],
        chunks: Callable[[], AsyncIterator[bytes]],
        broken: tuple[type[Exception], ...],
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self._read, self._chunks, self._broken = read, chunks, broken

    async def read(self) -> bytes:
        try:
            return await self._read()
        except self._broken as err:
            raise _unreachable(err) from None

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            async for line in split_lines(self._chunks()):
                yield line
        except self._broken as err:
            raise _unreachable(err) from None


class AiohttpSender:
    """A ``Sender`` over one aiohttp connection pool to one API server.

    ``auth`` is the kubeconfig's ``httpx.Auth`` (bearer token, token file, basic): its flow is run
    for the header only, so a token file is read again when the server answers 401, exactly as on the
    watch connections. Create it inside the event loop that will use it.
    """

    def __init__(
        self,
        server: str,
        *,
        ssl_context: ssl.SSLContext | None,
        auth: httpx.Auth | None,
        timeout: float,
        max_connections: int = 64,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._server = server.rstrip("/")
        self._auth = auth
        self._timeout = timeout
        tls = ssl_context if ssl_context is not None else True
        headers = {"User-Agent": user_agent}  # the API server's audit log names who wrote
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls, limit=max_connections, keepalive_timeout=30.0),
            timeout=aiohttp.ClientTimeout(total=timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers=headers,
        )
        self._watches = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls, limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            headers=headers,
        )

    @property
    def base_url(self) -> str:
        return self._server

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        url = self._server + path
        if self._auth is None:
            return await self._send_once(method, url, params, content, headers)
        flow = self._auth.sync_auth_flow(httpx.Request(method, url))
        authorized = _with_auth(headers, next(flow))
        while True:
            answer = await self._send_once(method, url, params, content, authorized)
            again = _after(flow, answer.status, headers)
            if again is None:
                return answer
            authorized = again

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        try:
            async with self._session.request(
                method, url, params=params, data=content, headers=headers, allow_redirects=False
            ) as response:
                body = await response.read()
                return Answer(response.status, body, response.headers.get("Retry-After"))
        except _AIOHTTP_BROKEN as err:
            raise _unreachable(err) from None

    @asynccontextmanager
    async def stream(self, path: str, *, params: Params, read_timeout: float) -> AsyncIterator[StreamAnswer]:
        url = self._server + path
        flow = None if self._auth is None else self._auth.sync_auth_flow(httpx.Request("GET", url))
        headers = None if flow is None else _with_auth(None, next(flow))
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=read_timeout)
        while True:
            try:
                response = await self._watches.get(
                    url, params=params, headers=headers, timeout=timeout, allow_redirects=False
                )
            except _AIOHTTP_BROKEN as err:
                raise _unreachable(err) from None
            again = None if flow is None else _after(flow, response.status, None)
            if again is None:
                break
            response.close()
            headers = again
        try:
            yield _Stream(
                response.status,
                response.headers.get("Retry-After"),
                read=response.read,
                chunks=response.content.iter_any,
                broken=_AIOHTTP_BROKEN,
            )
        finally:
            response.close()  # a watch cut short leaves its connection unusable: drop it

    async def aclose(self) -> None:
        try:
            await self._session.close()
        finally:
            await self._watches.close()


def _after(
    flow: Generator[httpx.Request, httpx.Response, None], status: int, headers: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The headers to send again when the auth flow wants a retry after ``status`` (a re-read
    token file after 401), else None."""
    try:
        request = flow.send(httpx.Response(status))
    except StopIteration:
        return None
    return _with_auth(headers, request)


def _unreachable(err: Exception) -> Unreachable:
    return Unreachable(str(err) or type(err).__name__)


def _with_auth(headers: Mapping[str, str] | None, request: httpx.Request) -> dict[str, str]:
    out = dict(headers or {})
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        out["Authorization"] = authorization
    return out
