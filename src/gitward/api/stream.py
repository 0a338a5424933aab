"""``GET /api/v1/stream``: status changes as server-sent events, for the live pages and the CLI.

    GET /api/v1/stream[?app=NAME]      Last-Event-ID: <id>  (resume)

Each event is ``id: <epoch>-<n>``, ``event: status`` and one JSON line (``appview/summary.py::status_event``:
the app's sync, health, message and operation). ``event: reset`` means events were missed (the id
to resume from is no longer in the ring, or the client read too slowly): reload what is shown, then
reconnect. ``event: end`` comes last when the server stops. A comment line every ``HEARTBEAT``
seconds keeps proxies from closing an idle stream.

Who sees what: ``app=NAME`` needs ``get`` on that app (403 otherwise, as for ``GET /apps/NAME``);
without it, each event is shown only when the caller may ``get`` that app (``authorize`` per event,
by the project the event names). A stream made with a login session ends when the session does.

Costs and bounds (measured in docs/benchmarks.md, "Web UI"): the feed is one ring
shared by every stream (``reconcile/livefeed.py``), so a status change costs the engine the same for
0 or 1,000 streams. Each stream is one task reading the ring from its own cursor, woken by the
feed's tick at most every 0.25 s (an app page's stream only when its app changed), so a burst is
sent as one write. Each write must be taken by the client
within ``SEND_TIMEOUT`` seconds, and a client further behind than the ring holds gets ``reset``: a
stalled client is dropped, never buffered for. At most ``StatusFeed.max_readers`` streams are open.
Readers woken by one change share one framed copy of it (``StatusFeed.joined``), and an app page's
stream looks at the ring only when its app has changed (``StatusFeed.changed_since``).

Deliberately not here: the feed itself and what an event holds (``reconcile/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource
from gitward.api.routes import check_name
from gitward.api.sessions import SESSION_COOKIE
from gitward.reconcile.livefeed import Batch, FeedEvent, StatusFeed

HEARTBEAT = 15.0
MIN_GAP = 0.25
SEND_TIMEOUT = 30.0
RESET = b'event: reset\ndata: {"reason": "events were missed; reload"}\n\n'
END = b'event: end\ndata: {"reason": "the server is stopping"}\n\n'

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def frame(event: FeedEvent) -> bytes:
    return b"id: " + event.id.encode() + b"\nevent: status\ndata: " + event.data + b"\n\n"


class _Reader:
    """One stream's view of the feed: its cursor, its filter and its caller's read scope."""

    def __init__(self, feed: StatusFeed, access: Access, caller: Principal, app: str | None) -> None:
        self.feed, self.access, self.caller, self.app = feed, access, caller, app
        self.everything = access.allows(caller, "get", Resource("applications"))
        self.allowed: dict[str, bool] = {}  # per project: the caller's read grant does not change

    def chunk(self, batch: Batch, after: int) -> bytes:
        if self.app is None and self.everything:
            return self.feed.joined(batch, after, frame)
        return b"".join(frame(e) for e in batch.events if self.shows(e))

    def shows(self, event: FeedEvent) -> bool:
        if self.app is not None:
            return event.app == self.app
        if self.everything:
            return True
        found = self.allowed.get(event.project)
        if found is None:
            resource = Resource("applications", event.app, event.project or None)
            found = self.allowed[event.project] = self.access.allows(self.caller, "get", resource)
        return found


class EventStream(Response):
    """A raw ASGI answer: every write is bounded in time, and a disconnect ends the stream at once."""

    media_type = "text/event-stream"

    def __init__(self, produce: Callable[[], Any], *, still_valid: Callable[[], bool]) -> None:
        super().__init__(status_code=200)
        # Set here, not through Response: its headers would say "content-length: 0" for no body.
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        self._produce = produce
        self._still_valid = still_valid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def write() -> None:
            async for chunk in self._produce():
                if not self._still_valid():
                    return
                await asyncio.wait_for(
                    send({"type": "http.response.body", "body": chunk, "more_body": True}), SEND_TIMEOUT
                )

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        writer = asyncio.ensure_future(write())
        watcher = asyncio.ensure_future(disconnected())
        try:
            await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, watcher):
                task.cancel()
            for task in (writer, watcher):
                with contextlib.suppress(BaseException):
                    await task
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _events(reader: _Reader, cursor: int, lost: bool) -> Any:
    feed = reader.feed
    yield b"retry: 3000\n\n"
    if lost:
        yield RESET
    last_write = time.monotonic()
    while not feed.closed:
        if reader.app is not None and not feed.changed_since(reader.app, cursor):
            batch, chunk = Batch([], feed.latest, False), b""  # an app page: nothing of its app
        else:
            batch = feed.since(cursor)
            if batch.lost:
                yield RESET
                return
            chunk = reader.chunk(batch, cursor)
        cursor = batch.cursor
        if chunk:
            yield chunk
            last_write = time.monotonic()
        elif time.monotonic() - last_write >= HEARTBEAT:
            yield b": keep-alive\n\n"
            last_write = time.monotonic()
        await feed.wait(cursor, HEARTBEAT, app=reader.app)
        if reader.app is not None:
            await asyncio.sleep(MIN_GAP)  # an app's burst of changes: one write, not one per change
    yield END


def build_stream_router(
    feed: StatusFeed, access: Access, project_of: Callable[[str], str | None]
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["events"])
    caller_of = Depends(access.caller)

    @router.get(
        "/stream",
        summary="Status changes as server-sent events",
        response_class=Response,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        request: Request,
        caller: Principal = caller_of,
        app: Annotated[str | None, Query(description="only this application's changes")] = None,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
    ) -> Response:
        if app is not None:
            check_name(app)
            if not access.allows(caller, "get", Resource("applications", app)):
                access.authorize(caller, "get", Resource("applications", app, project_of(app)))
        by_session = "authorization" not in request.headers
        session_id = request.cookies.get(SESSION_COOKIE) if by_session else None

        def still_valid() -> bool:
            if caller.expires_at is not None and time.time() >= caller.expires_at:
                return False
            return session_id is None or access.sessions.get(session_id) is not None

        if feed.readers >= feed.max_readers:
            raise HTTPException(503, detail=f"{feed.readers} live streams are open already; retry later")
        cursor, lost = feed.cursor_of(last_event_id)
        reader = _Reader(feed, access, caller, app)

        async def produce() -> Any:
            with feed.reader():
                async for chunk in _events(reader, cursor, lost):
                    yield chunk

        return EventStream(produce, still_valid=still_valid)

    return router
