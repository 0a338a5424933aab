"""``GET /api/v1/stream`` over a real uvicorn server on loopback, and the feed's bounds.

The engine is the in-memory one with a real ``StatusFeed``: what is checked is what a client reads
off the socket (ids, filters by app and by the caller's projects, resume, reset)."""

from __future__ import annotations

import asyncio
import collections
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from tests.unit.api.ui_fake_views import FakeViews

from gitward.api import create_app
from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.reconcile.livefeed import StatusFeed

ADMIN_TOKEN = "admin-token-0123456789abcdef"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, engine: FakeViews, tokens: TokenRegistry) -> None:
        self.engine, self.tokens = engine, tokens
        self.url = f"http://127.0.0.1:{_port()}"

    def token(self, role: str, project: str | None = None) -> str:
        issued, _ = self.tokens.create(role=role, project=project, name=role, expires_in=None, created_by="t")
        return issued


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    engine = FakeViews()
    engine.apps["broken"]["project"] = "team-b"
    tokens = TokenRegistry(None)
    app = create_app(engine, access=Access(admin_token=ADMIN_TOKEN, tokens=tokens))
    found = Server(engine, tokens)
    port = int(found.url.rsplit(":", 1)[1])
    # Bounded like gitward run's own server: a stream the server still holds open must not stall teardown.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    for _ in range(500):
        if uv.started:
            break
        await asyncio.sleep(0.02)
    yield found
    uv.should_exit = True
    await task


async def read_events(
    server: Server, token: str, *, count: int, query: str = "", last_id: str | None = None, during: Any = None
) -> list[tuple[str, dict[str, Any]]]:
    """(event type, data) of the first ``count`` events, after ``during()`` ran with the stream open."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    out: list[tuple[str, dict[str, Any]]] = []
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{server.url}/api/v1/stream{query}", headers=headers) as answer,
    ):
        assert answer.status_code == 200, await answer.aread()
        assert answer.headers["content-type"].startswith("text/event-stream")
        if during is not None:
            during()
        kind = ""
        async for line in answer.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
                if len(out) >= count:
                    break
    return out


async def test_changes_reach_the_stream_filtered_by_app(server: Server) -> None:
    def change() -> None:
        server.engine.change("rolling", health="Healthy")
        server.engine.change("podinfo", sync="OutOfSync")

    events = await asyncio.wait_for(
        read_events(server, ADMIN_TOKEN, count=1, query="?app=podinfo", during=change), 10
    )
    assert events[0][0] == "status"
    assert events[0][1]["app"] == "podinfo"
    assert events[0][1]["sync"] == "OutOfSync"


async def test_a_project_token_reads_only_its_projects_events(server: Server) -> None:
    team_b = server.token("viewer", "team-b")

    def change() -> None:
        server.engine.change("podinfo", sync="OutOfSync")  # project default: not for this token
        server.engine.change("broken", health="Healthy")  # project team-b

    events = await asyncio.wait_for(read_events(server, team_b, count=1, during=change), 10)
    assert [data["app"] for _, data in events] == ["broken"]
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.get(
            f"{server.url}/api/v1/stream?app=podinfo", headers={"Authorization": f"Bearer {team_b}"}
        )
        assert refused.status_code == 403


async def test_last_event_id_resumes_and_a_lost_position_says_reset(server: Server) -> None:
    first = server.engine.feed.publish("podinfo", "default", {"app": "podinfo", "n": 1})
    server.engine.feed.publish("podinfo", "default", {"app": "podinfo", "n": 2})
    resumed = await asyncio.wait_for(read_events(server, ADMIN_TOKEN, count=1, last_id=first.id), 10)
    assert resumed[0][1]["n"] == 2
    stale = await asyncio.wait_for(read_events(server, ADMIN_TOKEN, count=1, last_id="0000-1"), 10)
    assert stale[0][0] == "reset"


def test_a_reader_further_behind_than_the_ring_has_lost_events() -> None:
    feed = StatusFeed(capacity=4)
    cursor, lost = feed.cursor_of(None)
    assert (cursor, lost) == (0, False)
    for n in range(3):
        feed.publish("a", "p", {"n": n})
    batch = feed.since(cursor)
    assert [e.seq for e in batch.events] == [1, 2, 3]
    assert not batch.lost
    for n in range(10):
        feed.publish("a", "p", {"n": n})
    assert feed.since(batch.cursor).lost  # a slow client: dropped, not buffered for
    assert feed.cursor_of(f"{feed.epoch}-2") == (13, True)
    assert feed.cursor_of(f"{feed.epoch}-11") == (11, False)


def test_the_feed_refuses_readers_past_its_bound() -> None:
    feed = StatusFeed(max_readers=1)
    with feed.reader(), pytest.raises(Exception, match="live streams are open"), feed.reader():
        pass
    with feed.reader():
        assert feed.readers == 1


async def test_a_client_that_stops_reading_is_dropped(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitward.api import stream

    monkeypatch.setattr(stream, "SEND_TIMEOUT", 0.5)
    feed = server.engine.feed
    feed._ring = collections.deque(maxlen=1_000_000)  # the ring never overruns: only the send bound acts
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = server.url.removeprefix("http://").split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    request = f"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    sock.send(request.encode())
    try:
        for _ in range(200):
            if feed.readers:
                break
            await asyncio.sleep(0.05)
        assert feed.readers == 1
        big = "x" * 8000
        for round_ in range(400):  # far more than the socket buffers hold; never read by the client
            for n in range(10):
                feed.publish("podinfo", "default", {"app": "podinfo", "n": round_ * 10 + n, "pad": big})
            await asyncio.sleep(0.02)
            if not feed.readers:
                break
        assert feed.readers == 0  # dropped by the send bound; the feed kept publishing, nothing waited
    finally:
        sock.close()
