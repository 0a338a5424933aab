"""``gitward run`` end to end: Git -> cluster, then every ``gitward app`` command a user runs.

The tests share one server process (module fixture) and run in file order; the last one stops the
process with SIGINT. Nothing here imports the engine: what is checked is what a user sees in the CLI
output, in exit statuses and in the cluster.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.process import E2eWorld, configmap

pytestmark = pytest.mark.e2e


def _listed(world: E2eWorld) -> dict[str, dict[str, Any]]:
    result = world.gitward.ok("app", "list", "-o", "json")
    return {a["name"]: a for a in result.json()}


def _synced_healthy(summary: dict[str, Any]) -> bool:
    return bool(summary["sync"]["status"] == "Synced" and summary["health"]["status"] == "Healthy")


def _live(kube_cluster: Any, world: E2eWorld, app: str) -> Any:
    return kube_cluster.get_json("configmap", "cfg", "-n", world.namespaces[app]).get("data")


def test_apps_become_synced_and_healthy_and_get_shows_their_resources(
    world: E2eWorld, kube_cluster: Any
) -> None:
    gw = world.gitward
    gw.until(lambda: all(_synced_healthy(a) for a in _listed(world).values()))
    assert set(_listed(world)) == {world.web, world.manual}
    summary = gw.app(world.web)
    assert summary["sync"]["revision"] == world.repo.head()
    assert {(r["kind"], r["name"]) for r in summary["resources"]} == {
        ("ConfigMap", "cfg"),
        ("Deployment", "web"),
    }
    assert _live(kube_cluster, world, world.web) == {"color": "blue"}
    table = gw.ok("app", "get", world.web).stdout
    assert world.web in table
    assert "Synced" in table
    listing = gw.ok("app", "list").stdout
    assert world.web in listing
    assert world.manual in listing


def test_a_pushed_commit_is_applied_after_refresh(world: E2eWorld, kube_cluster: Any) -> None:
    gw = world.gitward
    world.repo.commit({f"{world.web}/cfg.yaml": configmap("cfg", {"color": "green"})}, message="green")
    summary = gw.ok("app", "refresh", world.web, "-o", "json").json()
    assert summary["name"] == world.web
    gw.until(lambda: _live(kube_cluster, world, world.web) == {"color": "green"})
    gw.until(lambda: gw.app(world.web)["sync"]["revision"] == world.repo.head())


def test_drift_on_an_app_without_self_heal_shows_in_diff_until_sync(
    world: E2eWorld, kube_cluster: Any
) -> None:
    gw, app = world.gitward, world.manual
    gw.until(lambda: _synced_healthy(gw.app(app)))
    clean = gw.cli("app", "diff", app)
    assert clean.code == 0, clean.stderr

    patch = json.dumps({"data": {"size": "xl"}})
    kube_cluster.kubectl(
        "patch", "configmap", "cfg", "-n", world.namespaces[app], "--type=merge", "-p", patch
    )
    gw.until(lambda: gw.app(app)["sync"]["status"] == "OutOfSync")
    drifted = gw.cli("app", "diff", app)
    assert drifted.code == 2, drifted.stderr
    assert "size" in drifted.stdout
    assert "xl" in drifted.stdout
    entries = gw.cli("app", "diff", app, "-o", "json")
    assert entries.code == 2
    assert [(e["kind"], e["name"], e["action"]) for e in entries.json() if e["action"] != "none"] == [
        ("ConfigMap", "cfg", "update")
    ]
    assert _live(kube_cluster, world, app) == {"size": "xl"}  # no self-heal: left alone

    # A plain sync takes back what an out-of-band update changed, as self-heal would...
    operation = gw.ok("app", "sync", app, "-o", "json").json()
    assert operation["phase"] == "Succeeded"
    assert _live(kube_cluster, world, app) == {"size": "m"}
    assert gw.cli("app", "diff", app).code == 0

    # ...but not a field another server-side applier claims: exit 1, the manager named...
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": world.namespaces[app]},
        "data": {"size": "xxl"},
    }
    kube_cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=other-gitops",
        "-f",
        "-",
        stdin=json.dumps(theirs),
    )
    refused = gw.cli("app", "sync", app, "-o", "json")
    assert refused.code == 1
    assert refused.json()["phase"] == "Failed"
    assert "other-gitops" in refused.json()["message"]
    assert _live(kube_cluster, world, app) == {"size": "xxl"}
    # ...and a forced sync takes ownership back.
    operation = gw.ok("app", "sync", app, "--force", "-o", "json").json()
    assert operation["phase"] == "Succeeded"
    assert _live(kube_cluster, world, app) == {"size": "m"}
    assert gw.cli("app", "diff", app).code == 0
    gw.until(lambda: _synced_healthy(gw.app(app)))


def test_history_and_rollback_then_sync_resumes(world: E2eWorld, kube_cluster: Any) -> None:
    gw, app = world.gitward, world.web
    before = world.repo.head()
    world.repo.commit({f"{app}/cfg.yaml": configmap("cfg", {"color": "red"})}, message="red")
    gw.ok("app", "refresh", app)
    gw.until(lambda: _live(kube_cluster, world, app) == {"color": "red"})

    entries = gw.ok("app", "history", app, "-o", "json").json()
    assert len(entries) >= 2
    target = next(e for e in entries if e["commit"] == before)
    assert str(target["id"]) in gw.ok("app", "history", app).stdout

    operation = gw.ok("app", "rollback", app, str(target["id"]), "-o", "json").json()
    assert operation["phase"] == "Succeeded"
    assert operation["commit"] == before
    assert _live(kube_cluster, world, app) == {"color": "green"}
    summary = gw.app(app)
    assert summary["suspended"] is True
    assert summary["revision"] == before
    assert "yes" in gw.ok("app", "get", app).stdout

    resumed = gw.ok("app", "sync", app, "-o", "json").json()
    assert resumed["commit"] == world.repo.head()
    assert _live(kube_cluster, world, app) == {"color": "red"}
    assert gw.app(app)["suspended"] is False


def test_unknown_app_is_an_error_with_exit_status_1(world: E2eWorld) -> None:
    result = world.gitward.cli("app", "get", "no-such-app")
    assert result.code == 1
    assert "no-such-app" in result.stderr


def test_events_and_token_never_printed(world: E2eWorld) -> None:
    gw = world.gitward
    events = gw.ok("app", "events", world.web, "-o", "json").json()
    assert any(e["reason"] == "Synced" for e in events)
    gw.ok("app", "events")
    token = gw.token()
    assert len(token) >= 16
    assert gw.outputs  # every command above went through server.json discovery
    assert not [text for text in gw.outputs if token in text]
    assert token not in gw.log_text()


def test_sigint_stops_the_server_cleanly(world: E2eWorld) -> None:
    gw = world.gitward
    assert gw.server_json.exists()
    assert gw.interrupt() == 0
    assert not gw.server_json.exists()
    after = gw.cli("app", "list")
    assert after.code == 1
