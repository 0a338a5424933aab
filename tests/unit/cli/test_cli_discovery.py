"""Choosing the local server: each ``gitward run`` has its own record; one live one is used, several
are listed and the CLI asks for ``--server``, records of exited processes are ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.unit.cli.conftest import CLI_TOKEN, Served
from typer.testing import CliRunner

from gitward.api.tokens import remove_server_info, write_server_info
from gitward.cli.client import CliError
from gitward.cli.discovery import NO_SERVER, choose_local, local_servers, process_alive
from gitward.cli.main import app
from gitward.core.localserver import ServerInfo, server_record_path

A = ServerInfo(
    url="http://127.0.0.1:8080", token_file=Path("/a/state.token"), state_file=Path("/a/state.db"), pid=11
)
B = ServerInfo(
    url="http://127.0.0.1:9090", token_file=Path("/b/state.token"), state_file=Path("/b/state.db"), pid=22
)


def _alive_only(*pids: int | None):  # type: ignore[no-untyped-def]
    return lambda pid: pid in pids


def test_the_only_live_server_is_chosen() -> None:
    assert choose_local([A, B], url=None, alive=_alive_only(22)) == B
    assert choose_local([A], url=None, alive=_alive_only(11)) == A
    assert choose_local([A, B], url=None, alive=_alive_only()) is None


def test_several_live_servers_are_listed_and_none_is_guessed() -> None:
    with pytest.raises(CliError) as caught:
        choose_local([B, A], url=None, alive=_alive_only(11, 22))
    message = str(caught.value)
    assert "2 local gitward servers are running" in message
    assert "--server" in message
    lines = message.splitlines()[1:]
    assert lines == [
        "  http://127.0.0.1:8080  state /a/state.db  pid 11",
        "  http://127.0.0.1:9090  state /b/state.db  pid 22",
    ]


def test_a_given_url_picks_its_local_server_among_several() -> None:
    assert choose_local([A, B], url="http://127.0.0.1:9090", alive=_alive_only(11, 22)) == B
    assert choose_local([A, B], url="http://example.com", alive=_alive_only(11, 22)) is None
    assert choose_local([A, B], url="http://127.0.0.1:9090", alive=_alive_only(11)) is None  # B exited


def test_a_record_without_a_pid_counts_as_live() -> None:
    bare = ServerInfo(url="http://127.0.0.1:1", token_file=Path("/t"))
    assert choose_local([bare], url=None, alive=_alive_only()) == bare


def test_process_alive_tells_a_running_process_from_an_exited_one() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert process_alive(os.getpid())
    assert not process_alive(int(done.stdout))


def test_records_round_trip_and_a_bad_pid_is_refused() -> None:
    assert ServerInfo.from_json(A.to_json()) == A
    with pytest.raises(ValueError, match="pid"):
        ServerInfo.from_json('{"url": "http://h:1", "tokenFile": "/t", "pid": "12"}')


def test_each_state_file_has_its_own_record_and_removes_only_its_own(tmp_path: Path) -> None:
    user = tmp_path / "gitward"  # the user state dir under XDG_STATE_HOME=tmp_path
    a = ServerInfo(
        url=A.url, token_file=A.token_file, state_file=tmp_path / "a" / "state.db", pid=os.getpid()
    )
    b = ServerInfo(
        url=B.url, token_file=B.token_file, state_file=tmp_path / "b" / "state.db", pid=os.getpid()
    )
    path_a, path_b = write_server_info(user, a), write_server_info(user, b)
    assert path_a == server_record_path(user, tmp_path / "a" / "state.db")
    assert path_a != path_b
    env = {"XDG_STATE_HOME": str(tmp_path)}
    assert {r.url for r in local_servers(env, tmp_path / "home")} == {A.url, B.url}
    remove_server_info(user, a)
    assert local_servers(env, tmp_path / "home") == [b]


def _record(state_home: Path, served_url: str, name: str, pid: int) -> None:
    folder = state_home / "gitward"
    token = folder / f"{name}.token"
    token.parent.mkdir(parents=True, exist_ok=True)
    token.write_text(CLI_TOKEN + "\n")
    token.chmod(0o600)
    write_server_info(
        folder, ServerInfo(url=served_url, token_file=token, state_file=folder / f"{name}.db", pid=pid)
    )


def test_the_cli_skips_the_record_of_an_exited_server(
    runner: CliRunner, served: Served, state_home: Path
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    _record(state_home, "http://127.0.0.1:1", "old", int(gone.stdout))
    _record(state_home, served.url, "live", os.getpid())
    result = runner.invoke(app, ["app", "list", "-o", "json"])
    assert result.exit_code == 0, result.output


def test_the_cli_refuses_to_guess_between_two_live_servers(
    runner: CliRunner, served: Served, state_home: Path
) -> None:
    _record(state_home, served.url, "one", os.getpid())
    _record(state_home, "http://127.0.0.1:2", "two", os.getpid())
    result = runner.invoke(app, ["app", "list"])
    assert result.exit_code == 1
    assert "2 local gitward servers are running" in result.output
    assert served.url in result.output
    assert "http://127.0.0.1:2" in result.output
    chosen = runner.invoke(app, ["app", "list", "-o", "json", "--server", served.url])
    assert chosen.exit_code == 0, chosen.output  # the token of the chosen local server is used


def test_no_live_server_keeps_the_known_message(runner: CliRunner) -> None:
    result = runner.invoke(app, ["app", "list"])
    assert result.exit_code == 1
    assert " ".join(NO_SERVER.split()) in " ".join(result.output.split())
