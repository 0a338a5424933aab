"""`gitward run` in-process with a stand-in engine: serves, announces, and stops cleanly on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import types
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.unit.api.api_fake_service import FakeEngine
from typer.testing import CliRunner

import gitward.cli.run as run_module
from gitward.cli.main import app
from gitward.core.localserver import server_record_path


@dataclass(frozen=True)
class StandInSettings:
    config_path: Path
    state_path: Path
    database: str | None = None
    watch_config: float = 0.0

    @property
    def cache_dir(self) -> Path:
        return self.state_path.parent / "state-cache"


class StandInEngine:
    started: list[StandInSettings] = []
    instances: list[FakeEngine] = []

    @classmethod
    async def start(cls, settings: StandInSettings) -> FakeEngine:
        cls.started.append(settings)
        engine = FakeEngine()
        cls.instances.append(engine)
        return engine


def _wait_for(path: Path) -> None:
    # Polls for a file written by the server thread; the loop is bounded so a failure cannot hang.
    for _ in range(3000):
        if path.exists():
            return
        time.sleep(0.01)


def _client_then_interrupt(server_json: Path, seen: dict[str, Any]) -> None:
    try:
        _wait_for(server_json)
        info = json.loads(server_json.read_text())
        token = Path(info["tokenFile"]).read_text().strip()
        request = urllib.request.Request(  # noqa: S310 - loopback URL of the server under test
            info["url"] + "/api/v1/apps", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            seen["apps"] = json.loads(response.read())
        seen["token"] = token
    finally:
        os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("print_token", [False, True])
def test_run_serves_until_sigint(
    runner: CliRunner, tmp_path: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch, print_token: bool
) -> None:
    module = types.SimpleNamespace(Engine=StandInEngine, EngineSettings=StandInSettings)
    monkeypatch.setattr(run_module, "_engine_module", lambda: module)
    StandInEngine.started.clear()
    StandInEngine.instances.clear()
    config = tmp_path / "apps"
    config.mkdir()
    server_json = server_record_path(state_home / "gitward", state_home / "gitward" / "state.db")
    seen: dict[str, Any] = {}
    client = threading.Thread(target=_client_then_interrupt, args=(server_json, seen))
    client.start()
    args = ["run", "--config", str(config), "--listen", "127.0.0.1:0"]
    result = runner.invoke(app, args + (["--print-token"] if print_token else []))
    client.join(60)

    assert result.exit_code == 0, result.output
    assert [a["name"] for a in seen["apps"]] == ["podinfo", "broken", "rolling"]
    state_file = state_home / "gitward" / "state.db"
    assert StandInEngine.started == [
        StandInSettings(config_path=config, state_path=state_file, watch_config=1.0)
    ]
    assert StandInEngine.instances[0].stopped
    assert "gitward API listening on http://127.0.0.1:" in result.stdout
    assert f"admin token file: {state_home / 'gitward' / 'state.token'}" in result.stdout
    assert (seen["token"] in result.stdout) is print_token
    assert not server_json.exists()


def test_collection_resumes_with_what_start_up_allocated_frozen_out_of_its_reach() -> None:
    """The objects the imports made live as long as the process: the first collections after start
    must not walk them (docs/architecture.md, "Start-up: what the CLI imports")."""
    import gc

    from gitward.cli import run as run_command

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        run_command._resume_collection()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()
