"""`gitward app sync NAME --dry-run` against a real loopback server: the plan printed, nothing synced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.cli.conftest import Served, announce_local_server
from typer.testing import CliRunner

from gitward.cli.main import app


@pytest.fixture
def local(served: Served, state_home: Path) -> Served:
    announce_local_server(state_home, served.url)
    return served


def test_dry_run_prints_each_step_with_what_it_would_do_and_syncs_nothing(
    runner: CliRunner, local: Served
) -> None:
    result = runner.invoke(app, ["app", "sync", "podinfo", "--dry-run", "--revision", "v2"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == "podinfo at v2 (3f1c0de3f1c0): dry run, nothing changed"
    assert "PreSync" in lines
    assert any(line.split() == ["hook", "Job.apps/podinfo/migrate"] for line in lines)
    assert any(line.split() == ["configure", "Deployment.apps/podinfo/web"] for line in lines)
    assert "+  replicas: 2" in result.stdout
    assert "Pod.apps/podinfo/test  (Helm test hook)" in result.stdout
    assert [c for c in local.engine.calls if c[0] != "find"] == [
        ("dry-run", {"name": "podinfo", "revision": "v2", "prune": None})
    ]  # and no sync


def test_dry_run_machine_output_is_the_plan(runner: CliRunner, local: Served) -> None:
    result = runner.invoke(app, ["app", "sync", "podinfo", "--dry-run", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in json.loads(result.stdout)["steps"]] == ["PreSync", "Sync wave 0"]
