"""Notifications from the engine on the real cluster to loopback receivers started by the tests.

Each receiver checks what its host documents: gitward's webhook signature and document, GitHub's,
GitLab's and Gitea's commit-status calls (path, commit, token header, state), Slack's and Teams'
message shapes. Secrets are in files and are looked for in every output afterwards.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from prometheus_client import REGISTRY, generate_latest
from tests.integration.engine.harness import Harness, application, configmap, deployment
from tests.integration.notify_receivers import LoopbackReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
async def receiver(harness: Harness) -> AsyncIterator[LoopbackReceiver]:
    """Stopped before the harness stops the engine, so no server task outlives the test."""
    found = LoopbackReceiver()
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


def secret_file(tmp_path: Path, name: str, value: str | None = None) -> tuple[str, str]:
    value = value or f"s3cr3t-{name}-{secrets.token_hex(16)}"
    path = tmp_path / name
    path.write_text(value + "\n")
    return str(path), value


def notification(name: str, targets: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    spec.setdefault("triggers", ["SyncSucceeded", "SyncFailed"])
    for target in targets:
        target.setdefault("retry", {"limit": 2, "backoff": {"duration": "50ms", "maxDuration": "200ms"}})
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": name},
        "spec": {**spec, "targets": targets},
    }


def sample(target: str, result: str) -> float:
    labels = {"target": target, "result": result}
    return REGISTRY.get_sample_value("gitward_notifications_total", labels) or 0.0


def outputs(harness: Harness, app: str, caplog: pytest.LogCaptureFixture) -> str:
    """Everything gitward shows: the app, the list, history, events, the log and the metrics."""
    engine = harness.engine
    assert engine is not None
    shown = [
        engine.get_app(app),
        engine.list_apps(),
        engine.history(app),
        engine.events(app),
        engine.events(),
    ]
    return json.dumps(shown) + caplog.text + generate_latest(REGISTRY).decode()


def refused_deployment() -> str:
    bad = yaml.safe_load(deployment("web"))
    bad["spec"]["selector"]["matchLabels"] = {"app": "other"}  # does not select its template: 422
    return yaml.safe_dump(bad)


async def test_a_failed_sync_posts_a_signed_webhook_and_a_failure_status_then_success(
    harness: Harness,
    receiver: LoopbackReceiver,
    git_server: FileGitServer,
    namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = f"notify-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/web.yaml": refused_deployment()})
    broken = repo.head()
    secret_path, secret = secret_file(tmp_path, "hook-secret")
    token_path, token = secret_file(tmp_path, "github-token", f"ghp_{secrets.token_hex(18)}")
    hook = {"type": "webhook", "url": receiver.url("/hook"), "secretFile": secret_path}
    github = {
        "type": "github",
        "baseURL": receiver.url("/gh"),
        "tokenFile": token_path,
        "repository": "org/app",
    }
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace),
        notification("deploys", [hook, github], link="https://gitward.example.com/apps/{app}"),
    )
    engine = await harness.start()

    (failed,) = await harness.until(lambda: receiver.at("/hook"))
    assert failed.signed_with(secret)
    assert not failed.signed_with(secret + "x")
    document = failed.json()
    assert document["trigger"] == "SyncFailed"
    assert (document["app"], document["commit"], document["notification"]) == (app, broken, "deploys")
    assert "selector" in document["message"]
    assert document["operation"]["phase"] == "Failed"
    assert document["id"] == failed.headers["X-Gitward-Delivery"]
    assert failed.headers["X-Gitward-Event"] == "SyncFailed"
    (status,) = await harness.until(lambda: receiver.at("/gh/"))
    assert status.path == f"/gh/repos/org/app/statuses/{broken}"
    assert status.headers["Authorization"] == f"Bearer {token}"
    assert status.headers["Accept"] == "application/vnd.github+json"
    body = status.json()
    assert (body["state"], body["context"]) == ("failure", f"gitward/{app}")
    assert body["target_url"] == f"https://gitward.example.com/apps/{app}"
    assert body["description"].startswith(f"{app}: sync failed at {broken[:12]}")

    # the automated retries of the same commit fail the same way: told once, not once per retry
    await harness.until(lambda: len([op for op in engine.history(app) if op["phase"] == "Failed"]) >= 2)
    fixed = repo.commit({"app/web.yaml": deployment("web")}, message="fix the selector")
    await engine.refresh_app(app)
    await harness.until(lambda: len(receiver.at("/hook")) >= 2 and len(receiver.at("/gh/")) >= 2)
    assert [r.json()["trigger"] for r in receiver.at("/hook")] == ["SyncFailed", "SyncSucceeded"]
    succeeded = receiver.at("/gh/")[1]
    assert succeeded.path == f"/gh/repos/org/app/statuses/{fixed}"
    assert succeeded.json()["state"] == "success"
    assert sample("deploys/webhook", "sent") == 2
    assert sample("deploys/github", "sent") == 2

    shown = outputs(harness, app, caplog)
    assert "deploys" in shown  # the metrics are in it
    for value in (secret, token):
        assert value not in shown


async def test_slack_teams_gitlab_and_gitea_receive_what_their_hosts_document(
    harness: Harness, receiver: LoopbackReceiver, git_server: FileGitServer, namespace: str, tmp_path: Path
) -> None:
    app = f"shapes-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    slack_path, _ = secret_file(tmp_path, "slack-url", receiver.url(f"/slack/T0/B0/{secrets.token_hex(12)}"))
    teams_path, _ = secret_file(tmp_path, "teams-url", receiver.url("/teams/adaptive"))
    legacy_path, _ = secret_file(tmp_path, "legacy-url", receiver.url("/teams/legacy"))
    token_path, token = secret_file(tmp_path, "forge-token")
    targets = [
        {"type": "slack", "urlFile": slack_path},
        {"type": "teams", "urlFile": teams_path},
        {"type": "teams", "urlFile": legacy_path, "format": "messageCard", "name": "legacy"},
        {"type": "gitlab", "baseURL": receiver.url("/gl"), "tokenFile": token_path},
        {
            "type": "gitea",
            "baseURL": receiver.url("/gt"),
            "tokenFile": token_path,
            "context": "deploy/{cluster}",
        },
    ]
    targets[3]["repository"], targets[4]["repository"] = "group/sub/app", "org/app"
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace),
        notification(
            "shapes", targets, template="{app} {title} ({shortCommit})", link="https://gw.example/{app}"
        ),
    )
    await harness.start()
    await harness.until(lambda: len(receiver.received) == 5)
    commit = repo.head()

    (slack,) = receiver.at("/slack/T0/B0/")
    assert slack.json() == {"text": f"{app} synced ({commit[:12]})\n<https://gw.example/{app}|{app}>"}
    (adaptive,) = receiver.at("/teams/adaptive")
    message = adaptive.json()
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["$schema"]) == (
        "AdaptiveCard",
        "http://adaptivecards.io/schemas/adaptive-card.json",
    )
    assert card["body"][1] == {"type": "TextBlock", "text": f"{app} synced ({commit[:12]})", "wrap": True}
    assert {"title": "Commit", "value": commit} in card["body"][2]["facts"]
    assert card["actions"][0]["url"] == f"https://gw.example/{app}"
    (legacy,) = receiver.at("/teams/legacy")
    legacy_card = legacy.json()
    assert (legacy_card["@type"], legacy_card["@context"]) == ("MessageCard", "https://schema.org/extensions")
    assert legacy_card["summary"] == f"{app}: synced"
    assert legacy_card["themeColor"] == "2EB67D"
    assert legacy_card["potentialAction"][0]["targets"] == [
        {"os": "default", "uri": f"https://gw.example/{app}"}
    ]
    (gitlab,) = receiver.at("/gl/")
    assert gitlab.path == f"/gl/api/v4/projects/group%2Fsub%2Fapp/statuses/{commit}"
    assert gitlab.headers["PRIVATE-TOKEN"] == token
    assert "Authorization" not in gitlab.headers
    assert {k: gitlab.json()[k] for k in ("state", "name")} == {"state": "success", "name": f"gitward/{app}"}
    (gitea,) = receiver.at("/gt/")
    assert gitea.path == f"/gt/api/v1/repos/org/app/statuses/{commit}"
    assert gitea.headers["Authorization"] == f"token {token}"
    assert gitea.json() == {
        "state": "success",
        "description": f"{app} synced ({commit[:12]})",
        "target_url": f"https://gw.example/{app}",
        "context": "deploy/local",
    }


async def test_a_failing_receiver_is_retried_with_backoff_then_the_failure_is_an_event(
    harness: Harness,
    receiver: LoopbackReceiver,
    git_server: FileGitServer,
    namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = f"retry-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    url_secret = secrets.token_hex(16)
    slack_path, _ = secret_file(tmp_path, "slack-url", receiver.url(f"/down/slack/{url_secret}"))
    secret_path, secret = secret_file(tmp_path, "hook-secret")
    receiver.failing.add("/down/")
    receiver.scripts["/flaky"] = [500, 503]  # then 201
    targets = [
        {"type": "webhook", "url": receiver.url("/down/hook"), "secretFile": secret_path},
        {"type": "slack", "urlFile": slack_path},
        {"type": "webhook", "url": receiver.url("/flaky"), "secretFile": secret_path, "name": "flaky"},
    ]
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace),
        notification("pager", targets),
    )
    engine = await harness.start()

    def failures() -> list[dict[str, Any]]:
        return [e for e in engine.events(app) if e["reason"] == "NotificationFailed"]

    await harness.until(lambda: len(failures()) == 2 and engine.notifier.idle())
    assert len(receiver.at("/down/hook")) == 3  # the first attempt and 2 retries
    assert len(receiver.at("/down/slack/")) == 3
    assert len(receiver.at("/flaky")) == 3  # 500, 503, then delivered
    messages = sorted(e["message"] for e in failures())
    assert messages == [
        "notification pager, target slack (slack): the SyncSucceeded message failed after 3 attempts: "
        "HTTP 500",
        "notification pager, target webhook-0 (webhook): the SyncSucceeded message failed after 3 attempts: "
        "HTTP 500",
    ]
    assert all(e["type"] == "Warning" for e in failures())
    assert (sample("pager/webhook-0", "retried"), sample("pager/webhook-0", "failed")) == (2, 1)
    assert (sample("pager/flaky", "retried"), sample("pager/flaky", "sent")) == (2, 1)
    assert harness.is_synced_healthy(app)  # the reconcile never waited for any of it

    shown = outputs(harness, app, caplog)
    for value in (url_secret, secret):
        assert value not in shown


async def test_over_the_rate_limit_messages_are_dropped_and_counted(
    harness: Harness, receiver: LoopbackReceiver, git_server: FileGitServer, namespace: str, tmp_path: Path
) -> None:
    app = f"rate-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    secret_path, _ = secret_file(tmp_path, "hook-secret")
    hook = {"type": "webhook", "url": receiver.url("/rate"), "secretFile": secret_path}
    hook["rateLimit"] = {"count": 1, "per": "1h"}
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, automated=False),
        notification("limited", [hook]),
    )
    engine = await harness.start()
    for _ in range(3):
        assert (await engine.sync_app(app))["phase"] == "Succeeded"
    await harness.until(lambda: engine.notifier.idle() and sample("limited/webhook", "sent") == 1)
    assert sample("limited/webhook", "rate_limited") == 2
    assert len(receiver.at("/rate")) == 1


async def test_a_notification_whose_filters_do_not_match_sends_nothing(
    harness: Harness, receiver: LoopbackReceiver, git_server: FileGitServer, namespace: str, tmp_path: Path
) -> None:
    app = f"filtered-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    secret_path, _ = secret_file(tmp_path, "hook-secret")

    def to(path: str) -> list[dict[str, Any]]:
        return [{"type": "webhook", "url": receiver.url(path), "secretFile": secret_path}]

    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace),
        notification("control", to("/control")),
        notification("other-apps", to("/other-apps"), applications=["payments-*"]),
        notification("other-project", to("/other-project"), projects=["prod"]),
        notification("denied", to("/denied"), applications=["*", f"!{app}"]),
        notification("other-trigger", to("/other-trigger"), triggers=["HealthDegraded"]),
    )
    engine = await harness.start()
    await harness.until(lambda: receiver.at("/control"))
    await harness.until(engine.notifier.idle)  # every message routed with the control's has its outcome
    assert {r.path for r in receiver.received} == {"/control"}
    for name in ("other-apps", "other-project", "denied", "other-trigger"):
        assert sample(f"{name}/webhook", "sent") == 0


async def test_out_of_sync_for_longer_than_its_time_is_told_once_per_stretch(
    harness: Harness, receiver: LoopbackReceiver, git_server: FileGitServer, namespace: str, tmp_path: Path
) -> None:
    app = f"late-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    secret_path, _ = secret_file(tmp_path, "hook-secret")
    hook = {"type": "webhook", "url": receiver.url("/late"), "secretFile": secret_path}
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, automated=False),
        notification("late", [hook], triggers=["OutOfSync"], outOfSyncAfter="1s"),
    )
    engine = await harness.start()
    (first,) = await harness.until(lambda: receiver.at("/late"))
    document = first.json()
    assert (document["trigger"], document["app"], document["sync"]) == ("OutOfSync", app, "OutOfSync")
    assert document["message"] == "out of sync for more than 1s"
    assert harness.app(app)["sync"]["status"] == "OutOfSync"

    # the stretch goes on: the timer keeps looking, and tells nobody again
    checks = engine.notifier.out_of_sync_checks
    await engine.refresh_app(app)
    await harness.until(lambda: engine.notifier.out_of_sync_checks >= checks + 8 and engine.notifier.idle())
    assert harness.app(app)["sync"]["status"] == "OutOfSync"
    assert len(receiver.at("/late")) == 1

    # synced, then out of sync again: a new stretch is told again
    assert (await engine.sync_app(app))["phase"] == "Succeeded"
    assert harness.app(app)["sync"]["status"] == "Synced"
    green = repo.commit({"app/cm.yaml": configmap(app, {"color": "green"})}, message="green")
    await engine.refresh_app(app)
    await harness.until(lambda: len(receiver.at("/late")) == 2)
    assert receiver.at("/late")[1].json()["commit"] == green  # the commit waiting to be deployed


async def test_drift_healed_names_what_changed_and_who_changed_it(
    harness: Harness,
    receiver: LoopbackReceiver,
    git_server: FileGitServer,
    namespace: str,
    tmp_path: Path,
    kube_cluster: Any,
) -> None:
    app = f"healed-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"color": "blue"})})
    secret_path, secret = secret_file(tmp_path, "hook-secret")
    hook = {"type": "webhook", "url": receiver.url("/healed"), "secretFile": secret_path}
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace),
        notification("healed", [hook], triggers=["DriftHealed"]),
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    patch = json.dumps({"data": {"color": "red"}})
    kube_cluster.kubectl(
        "patch", "configmap", app, "-n", namespace, "--type=merge", "-p", patch, "--field-manager=intruder"
    )
    (healed,) = await harness.until(lambda: receiver.at("/healed"))
    assert healed.signed_with(secret)
    document = healed.json()
    assert document["trigger"] == "DriftHealed"
    assert "intruder" in document["message"]
    assert "/data/color" in document["message"]
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"] == {"color": "blue"}
