"""Every `gitward app` command answers within its `--timeout`, whatever the server does.

Real loopback servers: one that accepts and never answers, one that trickles its answer a byte at a
time (each read succeeds, so a per-read timeout alone never fires), and the real API over an engine
whose refresh does not finish (the route answers 202 with the app as it stands). Each command runs on
a helper thread that the test joins with a generous bound, so a command that hangs fails the test
instead of hanging it; nothing here asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.api.api_fake_service import FakeEngine
from tests.unit.cli.conftest import CLI_TOKEN, announce_local_server
from typer.testing import CliRunner, Result

from gitward.api import create_app
from gitward.api.server import ApiServer
from gitward.cli.main import app

BOUND = 30.0  # a command still running after this long hangs


def run_bounded(runner: CliRunner, *args: str) -> Result:
    results: list[Result] = []
    worker = threading.Thread(target=lambda: results.append(runner.invoke(app, list(args))), daemon=True)
    worker.start()
    worker.join(BOUND)
    assert not worker.is_alive(), f"gitward {' '.join(args)} did not answer"
    result = results[0]
    assert CLI_TOKEN not in result.output
    return result


class _SilentServer:
    """Accepts connections and then, per ``mode``, says nothing or trickles an answer forever."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.append(client)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(client,), daemon=True).start()

    def _trickle(self, client: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        answer += b" " * 100000
        for byte in answer:
            if self._stop.wait(0.1):
                return
            try:
                client.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for client in self._clients:
            client.close()


@pytest.fixture(params=["silent", "trickle"])
def stuck_server(request: pytest.FixtureRequest, state_home: Path) -> Iterator[_SilentServer]:
    server = _SilentServer(request.param)
    announce_local_server(state_home, server.url)
    try:
        yield server
    finally:
        server.close()


COMMANDS = [
    ("app", "list"),
    ("app", "get", "podinfo"),
    ("app", "diff", "podinfo"),
    ("app", "sync", "podinfo"),
    ("app", "refresh", "podinfo"),
    ("app", "history", "podinfo"),
    ("app", "rollback", "podinfo", "3"),
    ("app", "events"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[1:2]))
def test_a_server_that_does_not_answer_gets_one_line_and_exit_1(
    runner: CliRunner, stuck_server: _SilentServer, command: tuple[str, ...]
) -> None:
    result = run_bounded(runner, *command, "--timeout", "1")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"error: no answer from gitward server at {stuck_server.url} within 1s"]


class SlowRefreshEngine(FakeEngine):
    """A refresh that goes on until the test releases it (a cluster that stopped answering)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        app = self._find(name)
        self.calls.append(("refresh", name))
        await self.release.wait()
        return dict(app, message="refreshed")


@pytest.fixture
def slow(state_home: Path) -> Iterator[tuple[SlowRefreshEngine, asyncio.AbstractEventLoop]]:
    engine = SlowRefreshEngine()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    api = ApiServer(host="127.0.0.1", port=0, log_level="warning")
    try:
        asyncio.run_coroutine_threadsafe(api.start(create_app(engine, token=CLI_TOKEN)), loop).result(60)
        announce_local_server(state_home, api.url)
        yield engine, loop
    finally:
        loop.call_soon_threadsafe(engine.release.set)  # the refresh ends before the server stops
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


def _refreshes(engine: FakeEngine) -> int:
    return sum(1 for call in engine.calls if call == ("refresh", "podinfo"))


def test_a_refresh_that_goes_on_answers_with_the_app_as_it_stands(
    runner: CliRunner, slow: tuple[SlowRefreshEngine, asyncio.AbstractEventLoop]
) -> None:
    engine, loop = slow
    first = run_bounded(runner, "app", "refresh", "podinfo", "--timeout", "2", "-o", "json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["name"] == "podinfo"
    assert summary["refreshing"] is True
    assert "still reconciling after 1s" in first.stderr

    # Asked again while it runs: the same refresh is waited for, not a second one queued behind it.
    again = run_bounded(runner, "app", "refresh", "podinfo", "--timeout", "2")
    assert again.exit_code == 0, again.output
    assert "Synced" in again.stdout
    assert _refreshes(engine) == 1

    loop.call_soon_threadsafe(engine.release.set)
    done = run_bounded(runner, "app", "refresh", "podinfo", "--timeout", "20", "-o", "json")
    assert done.exit_code == 0, done.output
    finished = json.loads(done.stdout)  # the released refresh, or a new one: both finish at once
    assert finished["message"] == "refreshed"
    assert "refreshing" not in finished
    assert "still reconciling" not in done.stderr
