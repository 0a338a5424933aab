"""`gitward app ...` against a real loopback server: outputs, exit codes, discovery and errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from tests.unit.cli.conftest import CLI_TOKEN, Served, announce_local_server
from typer.testing import CliRunner, Result

from gitward.cli.main import app
from gitward.cli.output import print_fields


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert CLI_TOKEN not in result.output
    return result


@pytest.fixture
def local(served: Served, state_home: Path) -> Served:
    announce_local_server(state_home, served.url)
    return served


def test_list_table_finds_local_server(runner: CliRunner, local: Served) -> None:
    result = invoke(runner, "app", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SYNC", "HEALTH", "REVISION", "DESTINATION", "PROJECT", "MESSAGE"]
    assert lines[1].split() == ["podinfo", "Synced", "Healthy", "3f1c0de", "prod/podinfo", "default"]
    assert lines[2].split()[:3] == ["broken", "OutOfSync", "Degraded"]


HOOK_FAILED = (
    "PreSync hook Job.batch/broken/migrate failed: BackoffLimitExceeded: Job has reached the specified "
    "backoff limit\nsecond line"
)


def test_list_and_get_show_the_current_reason_and_message(runner: CliRunner, local: Served) -> None:
    """``app list`` shows the first line of the app's message, cut short; ``app get`` shows the reason
    with the failing step, the whole message and the conditions table."""
    local.engine.apps["broken"].update(
        reason="HookFailed",
        statusMessage=HOOK_FAILED,
        step="hook",
        stepDetail="hook PreSync Job.batch/broken/migrate",
        conditions=[
            {"type": "Ready", "status": "False", "reason": "HookFailed", "message": "PreSync hook failed"},
            {"type": "Stalled", "status": "False", "reason": "", "message": ""},
        ],
    )
    listed = invoke(runner, "app", "list").stdout.splitlines()
    row = next(line for line in listed if line.startswith("broken"))
    assert "PreSync hook Job.batch/broken/migrate failed: BackoffLimit" in row
    assert "second line" not in row
    assert "specified backoff limit" not in row
    shown = invoke(runner, "app", "get", "broken").stdout
    fields = dict(line.split(":", 1) for line in shown.splitlines() if ":" in line[:12])
    assert fields["Reason"].strip() == "HookFailed (hook PreSync Job.batch/broken/migrate)"
    assert "Job has reached the specified backoff limit" in fields["Message"]
    table = shown.splitlines()
    assert any(line.split() == ["TYPE", "STATUS", "REASON", "MESSAGE"] for line in table)
    assert any(line.split()[:3] == ["Ready", "False", "HookFailed"] for line in table)


def test_get_lists_drift_fights_with_their_entry_and_orphaned_resources(
    runner: CliRunner, local: Served
) -> None:
    suggestion = {
        "ignoreDifferences": [
            {
                "group": "apps",
                "kind": "Deployment",
                "name": "broken",
                "namespace": "broken",
                "jsonPointers": ["/spec/replicas"],
            }
        ],
        "orByManager": {"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["autoscaler"]},
    }
    fight = {
        "object": "broken_broken_apps_Deployment",
        "group": "apps",
        "kind": "Deployment",
        "namespace": "broken",
        "name": "broken",
        "field": "/spec/replicas",
        "manager": "autoscaler",
        "heals": 3,
        "since": 1_700_000_000.0,
        "pausedUntil": 1_700_000_300.0,
        "strikes": 1,
        "suggestion": suggestion,
    }
    orphans = {
        "count": 2,
        "resources": [{"group": "", "kind": "ConfigMap", "namespace": "broken", "name": "stray"}],
    }
    local.engine.apps["broken"].update(driftFights=[fight], orphanedResources=orphans)
    shown = invoke(runner, "app", "get", "broken").stdout
    lines = shown.splitlines()
    assert any(
        line.split()[:6] == ["Deployment", "broken", "broken", "/spec/replicas", "autoscaler", "3"]
        for line in lines
    )
    assert '"jsonPointers": ["/spec/replicas"]' in shown  # the entry to paste, as written
    assert "Orphaned resources (2, the first 1)" in shown
    assert any(line.split() == ["ConfigMap", "broken", "stray"] for line in lines)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_list_machine_output(runner: CliRunner, local: Served, fmt: str) -> None:
    result = invoke(runner, "app", "list", "-o", fmt)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout) if fmt == "json" else yaml.safe_load(result.stdout)
    assert [a["name"] for a in data] == ["podinfo", "broken", "rolling"]
    assert data[1]["health"]["status"] == "Degraded"


def test_get_shows_fields_and_resources(runner: CliRunner, local: Served) -> None:
    result = invoke(runner, "app", "get", "broken")
    assert result.exit_code == 0, result.output
    assert "OutOfSync" in result.stdout
    assert "1 of 2 pods ready" in result.stdout
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line[:12])
    assert fields["Repo"].strip() == "https://git.example.com/org/apps.git"
    assert fields["Path"].strip() == "apps/broken"
    assert fields["Target"].strip() == "main"
    assert any(line.split()[:3] == ["Deployment", "broken", "broken"] for line in result.stdout.splitlines())
    data = yaml.safe_load(invoke(runner, "app", "get", "broken", "-o", "yaml").stdout)
    assert data["destination"] == {"cluster": "prod", "namespace": "broken"}


def test_diff_exit_codes_and_unified_output(runner: CliRunner, local: Served) -> None:
    clean = invoke(runner, "app", "diff", "podinfo")
    assert clean.exit_code == 0
    assert "live matches desired" in clean.stdout
    drift = invoke(runner, "app", "diff", "broken")
    assert drift.exit_code == 2
    assert "=== Deployment broken/broken (update)" in drift.stdout
    assert "+  replicas: 2" in drift.stdout
    assert "-  replicas: 1" in drift.stdout
    as_json = invoke(runner, "app", "diff", "broken", "-o", "json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)[0]["action"] == "update"


def test_sync_sends_options_and_prints_operation(runner: CliRunner, local: Served) -> None:
    result = invoke(runner, "app", "sync", "podinfo", "--revision", "v1.2.3", "--no-prune", "--force")
    assert result.exit_code == 0, result.output
    assert (
        "sync",
        {"name": "podinfo", "revision": "v1.2.3", "prune": False, "force": True},
    ) in local.engine.calls
    assert "Succeeded" in result.stdout
    assert "configured" in result.stdout


def test_sync_defaults_leave_prune_to_the_app(runner: CliRunner, local: Served) -> None:
    result = invoke(runner, "app", "sync", "podinfo", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["phase"] == "Succeeded"
    assert (
        "sync",
        {"name": "podinfo", "revision": None, "prune": None, "force": False},
    ) in local.engine.calls


def test_refresh_history_rollback_events(runner: CliRunner, local: Served) -> None:
    assert invoke(runner, "app", "refresh", "podinfo").exit_code == 0
    assert ("refresh", "podinfo") in local.engine.calls
    history = invoke(runner, "app", "history", "podinfo")
    assert [line.split()[:2] for line in history.stdout.splitlines()[1:]] == [
        ["7", "3f1c0de"],
        ["6", "0a0a0a0"],
    ]
    rollback = invoke(runner, "app", "rollback", "podinfo", "6", "-o", "json")
    assert rollback.exit_code == 0, rollback.output
    assert json.loads(rollback.stdout)["trigger"] == "rollback"
    assert ("rollback", {"name": "podinfo", "id": 6}) in local.engine.calls
    events = invoke(runner, "app", "events", "broken", "--limit", "5", "-o", "json")
    assert [e["reason"] for e in json.loads(events.stdout)] == ["SyncFailed"]
    assert ("events", {"name": "broken", "limit": 5}) in local.engine.calls
    table = invoke(runner, "app", "events")
    assert "SyncFailed" in table.stdout
    assert "Synced podinfo" in table.stdout


def test_engine_errors_are_one_line(runner: CliRunner, local: Served) -> None:
    missing = invoke(runner, "app", "get", "missing")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: NotFound (404): application missing not found"
    stalled = invoke(runner, "app", "sync", "stalled")
    assert stalled.exit_code == 1
    assert "RenderFailed (422)" in stalled.stderr


def test_server_and_token_from_environment(runner: CliRunner, served: Served) -> None:
    result = invoke(
        runner, "app", "list", "-o", "json", env={"GITWARD_SERVER": served.url, "GITWARD_TOKEN": CLI_TOKEN}
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3


def test_wrong_token_says_how_to_set_it(runner: CliRunner, served: Served) -> None:
    result = invoke(runner, "app", "list", "--server", served.url, env={"GITWARD_TOKEN": "wrong"})
    assert result.exit_code == 1
    assert "refused the token (401" in result.stderr
    assert "GITWARD_TOKEN" in result.stderr


def test_local_token_is_not_sent_to_another_server(
    runner: CliRunner, served: Served, state_home: Path
) -> None:
    announce_local_server(state_home, "http://127.0.0.1:1")
    result = invoke(runner, "app", "list", "--server", served.url)
    assert result.exit_code == 1
    assert "needs a token (401" in result.stderr


def test_unreachable_server_names_the_url(runner: CliRunner) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = invoke(runner, "app", "list", "--server", url, env={"GITWARD_TOKEN": "x"})
    assert result.exit_code == 1
    assert f"cannot reach gitward server at {url}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_server_known(runner: CliRunner) -> None:
    result = invoke(runner, "app", "list")
    assert result.exit_code == 1
    assert "no gitward server known" in result.stderr


def test_only_http_urls(runner: CliRunner) -> None:
    result = invoke(runner, "app", "list", "--server", "file:///etc/passwd")
    assert result.exit_code == 1
    assert "must be http:// or https://" in result.stderr


def test_names_cannot_walk_the_url(runner: CliRunner, local: Served) -> None:
    result = invoke(runner, "app", "get", "../events")
    assert result.exit_code == 1
    assert ("events", {"name": None, "limit": 100}) not in local.engine.calls


def test_server_text_is_not_treated_as_markup(runner: CliRunner, local: Served) -> None:
    local.engine.apps["podinfo"]["health"]["message"] = "[bold]not markup[/bold]"
    result = invoke(runner, "app", "get", "podinfo")
    assert "[bold]not markup[/bold]" in result.stdout


def test_version(runner: CliRunner) -> None:
    result = invoke(runner, "version")
    assert result.exit_code == 0
    assert result.stdout.startswith("gitward ")


def test_long_field_values_stay_on_their_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://git.example.com/" + "/".join(["a-rather-long-group-name"] * 8) + "/apps.git"
    print_fields([("Repo", url), ("Message", "line one\nline two"), ("Path", "apps/x")])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Repo:    {url}", "Message: line one line two", "Path:    apps/x"]
