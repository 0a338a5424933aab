"""The CLI's side of the live UI, against the real ``gitward run`` process: ``app watch`` follows the
stream, ``app sync --wait`` shows the operation's progress, tables printed to a pipe never wrap, and
``-o wide`` adds columns."""

from __future__ import annotations

import os
import subprocess

import pytest
from tests.e2e.process import GITWARD, E2eWorld, configmap

pytestmark = pytest.mark.e2e


def test_tables_to_a_pipe_use_the_full_width(world: E2eWorld) -> None:
    env = {k: v for k, v in world.gitward.env.items() if k != "COLUMNS"}  # as a plain pipe sees it
    out = subprocess.run(
        [str(GITWARD), "app", "list", "-o", "wide"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:8] == [
        "NAME",
        "SYNC",
        "HEALTH",
        "REVISION",
        "DESTINATION",
        "PROJECT",
        "REPO",
        "PATH",
    ]
    assert len(lines) == 3  # header and one line per app: no cell wrapped onto a second line
    assert max(len(line) for line in lines) > 80
    assert all(line == line.rstrip() for line in lines)
    row = next(line for line in lines if line.startswith(world.web))
    assert world.git.url("apps") in row


def test_sync_wait_shows_progress_and_the_operation(world: E2eWorld) -> None:
    result = world.gitward.cli("app", "sync", world.web, "--wait")
    assert result.code == 0, result.stderr
    assert "Running" in result.stderr  # the operation as it ran, from the stream
    assert "Phase:" in result.stdout
    assert "Succeeded" in result.stdout


def test_watch_follows_a_commit_until_synced(world: E2eWorld) -> None:
    watcher = subprocess.Popen(
        [str(GITWARD), "app", "watch", world.manual, "--until", "done"],
        env=world.gitward.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # printed once its stream is open: nothing after is missed
        assert "Synced" in first
        world.repo.commit({f"{world.manual}/cfg.yaml": configmap("cfg", {"size": "l"})}, message="manual: l")
        world.gitward.ok("app", "refresh", world.manual)
        out, err = watcher.communicate(timeout=120)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    lines = [first, *out.strip().splitlines()]
    assert len(lines) >= 2  # the state it started from, then the changes
    assert "Succeeded" in lines[-1]
    assert os.environ.get("GITWARD_TOKEN") is None or os.environ["GITWARD_TOKEN"] not in out


def test_stopping_the_server_ends_open_streams(world: E2eWorld) -> None:
    """Last in the module: Ctrl-C on ``gitward run`` while a watcher holds a stream open."""
    watcher = subprocess.Popen(
        [str(GITWARD), "app", "watch", world.web],
        env=world.gitward.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline()  # its stream is open
        assert world.gitward.interrupt(within=60) == 0  # the server stopped, not held by the stream
        assert watcher.wait(timeout=60) == 0
        assert watcher.stderr is not None
        assert "stream ended: the server is stopping" in watcher.stderr.read()  # ended, not cut off
    finally:
        if watcher.poll() is None:
            watcher.kill()
