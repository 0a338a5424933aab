"""The write fence on a fake clock, and the one place every cluster write asks it (the transport):
a write that cannot prove its app is this replica's, or that the replica still holds its lease,
never reaches the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from gitward.cluster.failures import RetryPolicy
from gitward.cluster.ratelimit import RateLimit, TokenBucket
from gitward.cluster.senders import Answer, HttpxSender, Params, StreamAnswer
from gitward.cluster.transport import ApiTransport
from gitward.core.errors import Fenced
from gitward.replicas import WriteFence, writing_for
from gitward.testing.clock import FakeClock

pytestmark = pytest.mark.unit


def fence_at(clock: FakeClock, *, valid_for: float, owned: Mapping[str, int] = {"web": 1}) -> WriteFence:
    fence = WriteFence(monotonic=clock.monotonic, replica="gitward-a")
    fence.deadline = clock.monotonic() + valid_for
    fence.owned.update(owned)
    return fence


def test_a_write_is_allowed_only_before_the_deadline_and_only_for_an_owned_app() -> None:
    clock = FakeClock()
    fence = fence_at(clock, valid_for=5.0)
    assert fence.may_write()
    assert fence.may_write("web")
    assert not fence.may_write("api")
    with pytest.raises(Fenced, match="'api' is not owned by replica gitward-a"):
        fence.check("api")
    clock.advance(5.0)  # a pause, or renewals that failed: the deadline passed
    assert not fence.may_write()
    assert not fence.may_write("web")
    with pytest.raises(Fenced, match="cannot prove it still holds its lease"):
        fence.check("web")
    assert fence.refused == 2


async def test_the_app_a_task_writes_for_follows_it_into_the_tasks_it_starts() -> None:
    clock = FakeClock()
    fence = fence_at(clock, valid_for=5.0)

    async def write() -> bool:
        return fence.may_write(None) and _checks(fence)

    with writing_for("api"):  # not ours
        inner = asyncio.create_task(write())
    assert await inner is False
    with writing_for("web"):
        assert await asyncio.create_task(write()) is True


def _checks(fence: WriteFence) -> bool:
    try:
        fence.check()
    except Fenced:
        return False
    return True


def _transport(fence: WriteFence, clock: FakeClock, seen: list[httpx.Request]) -> ApiTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    def time_left() -> float:
        fence.check()
        return fence.deadline - clock.monotonic()

    http = httpx.AsyncClient(base_url="https://kube.test", transport=httpx.MockTransport(handler))
    return ApiTransport(
        HttpxSender(http),
        bucket=TokenBucket(RateLimit(qps=0)),
        retry=RetryPolicy(attempts=1),
        fence=time_left,
    )


async def test_the_transport_sends_no_write_the_fence_refuses_and_lets_reads_and_dry_runs_through() -> None:
    clock = FakeClock()
    fence = fence_at(clock, valid_for=5.0)
    seen: list[httpx.Request] = []
    transport = _transport(fence, clock, seen)
    with writing_for("web"):
        await transport.request("apply", "PATCH", "/api/v1/namespaces/web/configmaps/a", what="apply a")
    with writing_for("api"), pytest.raises(Fenced):
        await transport.request("apply", "PATCH", "/api/v1/namespaces/api/configmaps/a", what="apply a")
    clock.advance(6.0)
    with writing_for("web"):
        with pytest.raises(Fenced):
            await transport.request(
                "delete", "DELETE", "/api/v1/namespaces/web/configmaps/a", what="delete a"
            )
        with pytest.raises(Fenced):
            await transport.request("create", "POST", "/api/v1/namespaces/web/events", what="create event")
        await transport.request("get", "GET", "/api/v1/namespaces/web/configmaps/a", what="get a")
        await transport.request("dryrun", "PATCH", "/api/v1/namespaces/web/configmaps/a", what="dry-run a")
    assert [(r.method, r.url.path.rsplit("/", 2)[-2]) for r in seen] == [
        ("PATCH", "configmaps"),
        ("GET", "configmaps"),
        ("PATCH", "configmaps"),
    ]


class _SlowPool:
    """A sender whose connection pool is full: a request waits ``wait`` seconds before it is sent."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.sent: list[str] = []

    @property
    def base_url(self) -> str:
        return "https://kube.test"

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        await asyncio.sleep(self.wait)
        self.sent.append(f"{method} {path}")
        return Answer(200, b"{}", None)

    def stream(
        self, path: str, *, params: Params, read_timeout: float
    ) -> AbstractAsyncContextManager[StreamAnswer]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def test_a_write_still_waiting_for_a_connection_when_the_deadline_passes_is_never_sent() -> None:
    pool = _SlowPool(wait=1.0)
    transport = ApiTransport(
        pool, bucket=TokenBucket(RateLimit(qps=0)), retry=RetryPolicy(attempts=1), fence=lambda: 0.05
    )
    with pytest.raises(Fenced, match="lease deadline passed"):
        await transport.request("apply", "PATCH", "/x", what="apply x")
    await asyncio.sleep(1.1)
    assert pool.sent == []
    pool.wait = 0.0
    await transport.request("apply", "PATCH", "/x", what="apply x")
    assert pool.sent == ["PATCH /x"]
