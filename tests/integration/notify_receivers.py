"""Loopback HTTP receivers for notification tests: aiohttp web servers on 127.0.0.1 started by the
test, recording every request and answering with the status codes the test scripts per path.

``LoopbackReceiver`` runs in the test's event loop (engine tests); ``receiver_thread`` runs one in a
thread of its own for tests that drive the ``gitward`` process synchronously."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # as sent, percent-encoding kept (GitLab's project ids are encoded paths)
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """The gitward webhook signature: ``X-Gitward-Signature: sha256=<hex HMAC-SHA256 of the body>``."""
        wanted = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(wanted, self.headers.get("X-Gitward-Signature", ""))


class LoopbackReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, list[int]] = {}  # path prefix -> statuses to answer, in order
        self.failing: set[str] = set()  # path prefixes that always answer 500
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, prefix: str) -> list[Received]:
        return [r for r in self.received if r.path.startswith(prefix)]

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.raw_path
        self.received.append(Received(request.method, path, dict(request.headers), await request.read()))
        for prefix in self.failing:
            if path.startswith(prefix):
                return web.json_response({"message": "down"}, status=500)
        for prefix, statuses in self.scripts.items():
            if path.startswith(prefix) and statuses:
                return web.json_response({}, status=statuses.pop(0))
        return web.json_response({"id": len(self.received)}, status=201)


@contextmanager
def receiver_thread() -> Iterator[LoopbackReceiver]:
    """A receiver on its own event loop in a thread; stopped, and its thread joined, on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="loopback-receiver", daemon=True)
    thread.start()
    found = LoopbackReceiver()
    try:
        asyncio.run_coroutine_threadsafe(found.start(), loop).result(timeout=30)
        yield found
    finally:
        asyncio.run_coroutine_threadsafe(found.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
