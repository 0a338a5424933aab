"""``gitward run --state``: a SQLite file, or a PostgreSQL URL whose local files (token, TLS, cache)
are named after it in the state folder; a URL with a password stops the start before anything is
written, without showing the password."""

from __future__ import annotations

from pathlib import Path

import pytest
from devtools.gitservers import free_port
from typer.testing import CliRunner

from gitward.cli.client import CliError
from gitward.cli.main import app
from gitward.cli.run import _state_location, state_anchor


def test_a_postgresql_url_keeps_its_local_files_in_the_state_folder(tmp_path: Path) -> None:
    anchor = state_anchor("postgresql://gitward@db.example:5433/state?passfile=/x", tmp_path)
    assert anchor == tmp_path / "pg-db.example-5433-state.db"
    assert (
        state_anchor("postgres://gitward@db.example/gitward", tmp_path).name
        == "pg-db.example-5432-gitward.db"
    )


def test_state_is_a_file_or_a_postgresql_url(state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    assert _state_location("./here.db") == (Path("here.db").absolute(), None)
    url = "postgresql://gitward@127.0.0.1:5432/state"
    assert _state_location(url) == (state_home / "gitward" / "pg-127.0.0.1-5432-state.db", url)
    with pytest.raises(CliError, match="postgresql://"):
        _state_location("mysql://gitward@127.0.0.1/state")


def test_a_state_url_with_a_password_stops_the_start(
    runner: CliRunner, tmp_path: Path, state_home: Path
) -> None:
    config = tmp_path / "apps"
    config.mkdir()
    state = "postgresql://gitward:hunter2-secret@127.0.0.1:5432/state"
    result = runner.invoke(app, ["run", "--config", str(config), "--state", state])
    assert result.exit_code != 0
    assert "carries a password" in result.output
    assert "hunter2" not in result.output
    assert not state_home.exists()  # nothing written: no token, no cache folder


def test_an_unreachable_state_server_stops_the_start_with_one_line(
    runner: CliRunner, tmp_path: Path, state_home: Path
) -> None:
    config = tmp_path / "apps"
    config.mkdir()
    port = free_port()  # nothing listens there
    result = runner.invoke(
        app, ["run", "--config", str(config), "--state", f"postgresql://gitward@127.0.0.1:{port}/state"]
    )
    assert result.exit_code != 0
    assert f"cannot reach state database postgresql://***@127.0.0.1:{port}/state:" in result.output
    assert not state_home.exists()
