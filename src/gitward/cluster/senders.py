"""Putting one request on the wire: the HTTP libraries behind ``ApiTransport``.

Requests go through aiohttp over pooled HTTP/1.1 connections. Measured against the local
kube-apiserver (2000 concurrent server-side applies, 32 in flight): aiohttp spent 0.26 ms of client
CPU per request, httpx over HTTP/2 1.06 ms and httpx over HTTP/1.1 4.3 ms, and aiohttp finished the
batch in 1.9 s against 2.7 s for httpx over HTTP/2 (docs/benchmarks.md). With thousands of applies per
cold sync, the client's CPU is what bounds gitward, so the cheapest client wins; HTTP/2 was tried and
dropped because it measured slower.

Watches stay on httpx (``ApiTransport.stream``): they are few, long-lived streams, and their line
reading is not on the per-object path. ``HttpxSender`` also lets tests script answers with
``httpx.MockTransport``.

Deliberately not here: retries, rate limits, counts and error mapping (``cluster.transport``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import NamedTuple, Protocol

import aiohttp
import httpx

Params = Mapping[str, str | int]


class Answer(NamedTuple):
    """What came back: status, body and the ``Retry-After`` hint of a 429 or 503."""

    status: int
    body: bytes
    retry_after: str | None


class Unreachable(Exception):
    """No answer came: connection refused or reset, TLS failure, timeout. Worth a retry."""


class Sender(Protocol):
    """Sends one request and reads the whole answer."""

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

    async def aclose(self) -> None: ...


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
            raise Unreachable(str(err) or type(err).__name__) from None
        return Answer(response.status_code, response.content, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        await self._http.aclose()


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
    ) -> None:
        self._server = server.rstrip("/")
        self._auth = auth
        connector = aiohttp.TCPConnector(
            ssl=ssl_context if ssl_context is not None else True,
            limit=max_connections,
            keepalive_timeout=30.0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
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
        request = next(flow)
        while True:
            answer = await self._send_once(method, url, params, content, _with_auth(headers, request))
            try:
                request = flow.send(httpx.Response(answer.status))
            except StopIteration:
                return answer

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
        except (TimeoutError, aiohttp.ClientError) as err:
            raise Unreachable(str(err) or type(err).__name__) from None

    async def aclose(self) -> None:
        await self._session.close()


def _with_auth(headers: Mapping[str, str] | None, request: httpx.Request) -> dict[str, str]:
    out = dict(headers or {})
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        out["Authorization"] = authorization
    return out
