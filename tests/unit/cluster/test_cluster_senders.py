"""The aiohttp request path against a real HTTP server on loopback: what goes on the wire, bearer
tokens (a token file is read again after a 401), and a server that is gone."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from gitward.cluster.failures import RetryPolicy
from gitward.cluster.kubeconfig import load_endpoint
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.cluster.senders import AiohttpSender, Unreachable
from gitward.core.errors import ClusterError


class _Server:
    """Answers like a tiny API server and remembers every request it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], str, bytes]] = []
        self.valid_token = "Bearer first"
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        auth = request.headers.get("Authorization", "")
        self.seen.append(
            (request.method, request.path, dict(request.query), request.headers.get("Content-Type", ""), body)
        )
        if auth != self.valid_token:
            return web.json_response({"kind": "Status", "message": "Unauthorized"}, status=401)
        if request.path == "/watch":
            return await self.stream_lines(request)
        if request.path == "/busy":
            return web.json_response({"message": "slow down"}, status=429, headers={"Retry-After": "3"})
        return web.json_response({"ok": True, "echo": body.decode()})

    async def stream_lines(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for line in WATCH_LINES:
            for start in range(0, len(line), 7000):  # lines cut across chunks
                await response.write(line[start : start + 7000])
            await response.write(b"\n")
        await response.write_eof()
        return response


# A watch event carries a whole object: a large CRD makes a line far above aiohttp's readline limit.
WATCH_LINES = [b'{"type":"ADDED"}', b'{"big":"' + b"x" * 300_000 + b'"}', b"", b'{"type":"BOOKMARK"}']


@pytest.fixture
async def server() -> AsyncIterator[_Server]:
    state = _Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def _kubeconfig(tmp_path: Path, server: str, user: dict[str, str]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


async def test_request_carries_method_path_query_body_and_token(server: _Server, tmp_path: Path) -> None:
    endpoint = load_endpoint(_kubeconfig(tmp_path, server.url, {"token": "first"}))
    sender = AiohttpSender(endpoint.server, ssl_context=None, auth=endpoint.auth, timeout=5)
    try:
        answer = await sender.send(
            "PATCH",
            "/api/v1/namespaces/a/configmaps/c",
            params={"fieldManager": "gitward", "force": "true"},
            content=b'{"kind":"ConfigMap"}',
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
    finally:
        await sender.aclose()
    assert answer.status == 200
    assert server.seen == [
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/c",
            {"fieldManager": "gitward", "force": "true"},
            "application/apply-patch+yaml",
            b'{"kind":"ConfigMap"}',
        )
    ]


async def _rotated_token_sender(server: _Server, tmp_path: Path) -> AiohttpSender:
    """A sender whose token file was used once, then rotated in place (the server wants the new one)."""
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    endpoint = load_endpoint(_kubeconfig(tmp_path, server.url, {"tokenFile": str(token_file)}))
    sender = AiohttpSender(endpoint.server, ssl_context=None, auth=endpoint.auth, timeout=5)
    assert (await sender.send("GET", "/x", params=None, content=None, headers=None)).status == 200
    token_file.write_text("second\n")
    server.valid_token = "Bearer second"
    return sender


async def test_token_file_is_read_again_after_401(server: _Server, tmp_path: Path) -> None:
    sender = await _rotated_token_sender(server, tmp_path)
    try:
        answer = await sender.send("GET", "/x", params=None, content=None, headers=None)
    finally:
        await sender.aclose()
    assert answer.status == 200
    assert len(server.seen) == 3  # the 401 with the old token, then the retry with the new one


async def test_retry_after_hint_is_returned(server: _Server, tmp_path: Path) -> None:
    endpoint = load_endpoint(_kubeconfig(tmp_path, server.url, {"token": "first"}))
    sender = AiohttpSender(endpoint.server, ssl_context=None, auth=endpoint.auth, timeout=5)
    try:
        answer = await sender.send("GET", "/busy", params=None, content=None, headers=None)
    finally:
        await sender.aclose()
    assert (answer.status, answer.retry_after) == (429, "3")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_server_that_is_gone_is_unreachable(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{_closed_port()}"
    sender = AiohttpSender(server, ssl_context=None, auth=None, timeout=5)
    try:
        with pytest.raises(Unreachable):
            await sender.send("GET", "/version", params=None, content=None, headers=None)
    finally:
        await sender.aclose()
    config = _kubeconfig(tmp_path, server, {"token": "first"})
    client = await LightkubeClient.from_kubeconfig(config, retry=RetryPolicy(attempts=2, base_delay=0.01))
    try:
        with pytest.raises(ClusterError) as info:
            await client.server_version()
    finally:
        await client.close()
    assert info.value.status == 0
    assert "unreachable" in str(info.value)
    assert "first" not in str(info.value)


async def test_stream_yields_every_line_whole_and_re_reads_the_token_after_401(
    server: _Server, tmp_path: Path
) -> None:
    sender = await _rotated_token_sender(server, tmp_path)
    try:
        async with sender.stream("/watch", params={"watch": "true"}, read_timeout=5) as answer:
            assert answer.status == 200
            lines = [line async for line in answer.lines()]
    finally:
        await sender.aclose()
    assert lines == WATCH_LINES
    assert [seen[1] for seen in server.seen] == ["/x", "/watch", "/watch"]  # the watch: 401, then 200


async def test_a_watch_on_a_server_that_is_gone_is_unreachable() -> None:
    sender = AiohttpSender(f"http://127.0.0.1:{_closed_port()}", ssl_context=None, auth=None, timeout=5)
    try:
        with pytest.raises(Unreachable):
            async with sender.stream("/watch", params={}, read_timeout=5):
                pass
    finally:
        await sender.aclose()
