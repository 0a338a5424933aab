"""Token file, server.json, and the standalone life cycle (engine start/stop around a real server)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest
from tests.unit.api.api_fake_service import FakeEngine

from gitward.api.server import ApiServer, run_standalone
from gitward.api.tokens import load_or_create_token, remove_server_info, write_server_info
from gitward.core.errors import ValidationError
from gitward.core.localserver import ServerInfo, server_record_path, token_file_for, user_state_dir


def test_token_is_created_private_and_reused(tmp_path: Path) -> None:
    path = token_file_for(tmp_path / "state" / "gitward.db")
    assert path == tmp_path / "state" / "gitward.token"
    first = load_or_create_token(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == first


def test_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.token"
    token = load_or_create_token(path)
    path.chmod(0o644)
    with pytest.raises(ValidationError) as caught:
        load_or_create_token(path)
    assert "chmod 600" in str(caught.value)
    assert token not in str(caught.value)


def test_empty_token_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.token"
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(ValidationError, match="empty"):
        load_or_create_token(path)


def test_user_state_dir_follows_xdg(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert user_state_dir(environ={"XDG_STATE_HOME": "/x/state"}, home=home) == Path("/x/state/gitward")
    assert user_state_dir(environ={}, home=home) == home / ".local/state/gitward"
    assert user_state_dir(environ={"XDG_STATE_HOME": "rel"}, home=home) == home / ".local/state/gitward"


def test_server_info_round_trip_and_removal(tmp_path: Path) -> None:
    info = ServerInfo(url="http://127.0.0.1:1234", token_file=tmp_path / "s.token")
    target = write_server_info(tmp_path, info)
    assert json.loads(target.read_text()) == {"url": info.url, "tokenFile": str(info.token_file)}
    other = ServerInfo(url="http://127.0.0.1:9999", token_file=info.token_file)
    remove_server_info(tmp_path, other)
    assert target.exists()
    remove_server_info(tmp_path, info)
    assert not target.exists()


@pytest.mark.parametrize("text", ["[]", "{}", '{"url": 1, "tokenFile": "x"}', "not json"])
def test_server_info_rejects_bad_documents(text: str) -> None:
    with pytest.raises(ValueError):
        ServerInfo.from_json(text)


def test_busy_port_is_a_clear_error() -> None:
    first = ApiServer(host="127.0.0.1", port=0)
    port = int(first.url.rsplit(":", 1)[1])
    try:
        with pytest.raises(ValidationError, match=f"cannot listen on 127.0.0.1:{port}"):
            ApiServer(host="127.0.0.1", port=port)
    finally:
        asyncio.run(first.stop())


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback URL of our server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.read()


async def test_run_standalone_serves_then_stops_api_before_engine(tmp_path: Path) -> None:
    engine = FakeEngine()
    stop = asyncio.Event()
    announced: list[ServerInfo] = []
    serving = asyncio.Event()
    state_dir = tmp_path / "user-state"

    def announce(info: ServerInfo) -> None:
        announced.append(info)
        serving.set()

    async def start_engine() -> FakeEngine:
        return engine

    task = asyncio.create_task(
        run_standalone(
            start_engine=start_engine,
            state_file=tmp_path / "data" / "state.db",
            user_state_dir=state_dir,
            host="127.0.0.1",
            port=0,
            announce=announce,
            stop=stop,
        )
    )
    await asyncio.wait([task, asyncio.create_task(serving.wait())], return_when=asyncio.FIRST_COMPLETED)
    info = announced[0]
    assert info.token_file == tmp_path / "data" / "state.token"
    record = server_record_path(state_dir, tmp_path / "data" / "state.db")
    assert ServerInfo.from_json(record.read_text()) == info
    assert info.state_file == tmp_path / "data" / "state.db"
    assert info.pid == os.getpid()
    token = info.token_file.read_text().strip()
    status, body = await asyncio.to_thread(_get, info.url + "/api/v1/apps", token)
    assert status == 200
    assert json.loads(body)[0]["name"] == "podinfo"
    assert token.encode() not in body
    assert not engine.stopped

    stop.set()
    await task
    assert engine.stopped
    assert not record.exists()
    with pytest.raises(OSError):
        await asyncio.to_thread(_get, info.url + "/healthz")


async def test_engine_start_failure_releases_the_port(tmp_path: Path) -> None:
    async def failing_start() -> FakeEngine:
        raise ValidationError("config not found")

    with pytest.raises(ValidationError, match="config not found"):
        await run_standalone(
            start_engine=failing_start,
            state_file=tmp_path / "state.db",
            user_state_dir=tmp_path / "user",
            host="127.0.0.1",
            port=0,
            announce=lambda info: None,
            stop=asyncio.Event(),
        )
    assert not (tmp_path / "user" / "server.json").exists()
