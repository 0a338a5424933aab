"""A real uvicorn server on a loopback port serving the API over an in-memory engine."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.unit.api.api_fake_service import FakeEngine
from typer.testing import CliRunner

from gitward.api import create_app
from gitward.api.server import ApiServer
from gitward.core.localserver import ServerInfo, server_record_path

CLI_TOKEN = "cli-test-token-abcdef0123456789"


@dataclass(frozen=True)
class Served:
    url: str
    engine: FakeEngine


@pytest.fixture
def served() -> Iterator[Served]:
    engine = FakeEngine()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="cli-test-api", daemon=True)
    thread.start()
    api = ApiServer(host="127.0.0.1", port=0, log_level="warning")
    try:
        asyncio.run_coroutine_threadsafe(api.start(create_app(engine, token=CLI_TOKEN)), loop).result(60)
        yield Served(url=api.url, engine=engine)
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    return tmp_path / "xdg-state"


@pytest.fixture
def runner(tmp_path: Path, state_home: Path) -> CliRunner:
    """Isolated from the developer's own server.json and GITWARD_* variables."""
    return CliRunner(
        env={
            "HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(state_home),
            "GITWARD_SERVER": None,
            "GITWARD_TOKEN": None,
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
    )


def announce_local_server(state_home: Path, url: str, token: str = CLI_TOKEN) -> Path:
    """What `gitward run` leaves behind: its record naming a 0600 token file (this process as its PID)."""
    folder = state_home / "gitward"
    folder.mkdir(parents=True, exist_ok=True)
    token_file = folder / "state.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    state_file = folder / "state.db"
    record = server_record_path(folder, state_file)
    record.parent.mkdir(parents=True, exist_ok=True)
    info = ServerInfo(url=url, token_file=token_file, state_file=state_file, pid=os.getpid())
    record.write_text(info.to_json())
    return token_file
