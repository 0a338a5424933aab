"""The Notification kind: what loads, and what is refused when the config is loaded, by name."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model import load_objects


def document(**spec: Any) -> dict[str, Any]:
    spec.setdefault("triggers", ["SyncFailed"])
    spec.setdefault("targets", [{"type": "slack", "urlFile": "/etc/gitward/slack-url"}])
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": "n"},
        "spec": spec,
    }


def test_a_full_notification_loads_with_defaults() -> None:
    loaded = load_objects(
        [
            document(
                triggers=["SyncSucceeded", "SyncFailed", "HealthDegraded", "DriftHealed", "OutOfSync"],
                outOfSyncAfter="15m",
                applications=["payments-*", "!payments-test"],
                projects=["prod"],
                template="{app}: {title} {commit:.7}",
                link="https://gitward.example.com/apps/{app}",
                targets=[
                    {"type": "webhook", "url": "https://hooks.example.com/x", "secretFile": "/s"},
                    {"type": "webhook", "urlFile": "/u", "secretFile": "/s", "name": "audit"},
                    {"type": "slack", "urlFile": "/u", "rateLimit": {"count": 1, "per": "1s"}},
                    {"type": "teams", "urlFile": "/u", "format": "messageCard"},
                    {"type": "github", "tokenFile": "/t", "retry": {"limit": 0}},
                    {"type": "gitlab", "tokenFile": "/t", "baseURL": "https://gitlab.example.com"},
                    {
                        "type": "gitea",
                        "tokenFile": "/t",
                        "baseURL": "https://gitea.example.com",
                        "queueSize": 5,
                    },
                ],
            )
        ]
    )
    assert loaded.errors == ()
    (notification,) = loaded.notifications
    spec = notification.spec
    assert spec.out_of_sync_after == 900.0
    assert spec.target_names() == ["webhook-0", "audit", "slack", "teams", "github", "gitlab", "gitea"]
    github = spec.targets[4]
    assert github.type == "github"
    assert github.base_url is None
    assert github.context == "gitward/{app}"
    assert spec.targets[2].rate_limit.per == 1.0
    assert spec.targets[0].retry.limit == 3  # the default


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"triggers": ["OutOfSync"]}, "needs outOfSyncAfter"),
        ({"outOfSyncAfter": "5m"}, "OutOfSync is not among the triggers"),
        ({"triggers": ["SyncFailed", "SyncFailed"]}, "listed twice"),
        ({"triggers": ["Deployed"]}, "triggers"),
        ({"targets": []}, "targets"),
        ({"targets": [{"type": "gitea", "tokenFile": "/t"}]}, "needs baseURL"),
        ({"targets": [{"type": "webhook", "secretFile": "/s"}]}, "exactly one of url and urlFile"),
        (
            {"targets": [{"type": "webhook", "url": "https://h/x", "urlFile": "/u", "secretFile": "/s"}]},
            "exactly one",
        ),
        ({"targets": [{"type": "webhook", "url": "https://h/x"}]}, "secretFile"),
        ({"targets": [{"type": "webhook", "url": "ftp://h/x", "secretFile": "/s"}]}, "http:// or https://"),
        ({"targets": [{"type": "slack", "url": "https://hooks.slack.com/services/x"}]}, "url"),
        (
            {
                "targets": [
                    {"type": "slack", "urlFile": "/u", "name": "chat"},
                    {"type": "teams", "urlFile": "/v", "name": "chat"},
                ]
            },
            "unique",
        ),
        (
            {"targets": [{"type": "github", "tokenFile": "/t", "baseURL": "https://u:pw@api.github.com"}]},
            "holds a password",
        ),
        ({"targets": [{"type": "pagerduty", "urlFile": "/u"}]}, "type"),
        ({"template": "{app.__init__}"}, "not known"),
        ({"link": "{0}"}, "not known"),
        ({"targets": [{"type": "github", "tokenFile": "/t", "context": "{secret}"}]}, "not known"),
        ({"targets": [{"type": "slack", "urlFile": "/u", "rateLimit": {"count": 0}}]}, "count"),
    ],
)
def test_what_cannot_be_acted_on_is_refused_at_load(spec: dict[str, Any], why: str) -> None:
    loaded = load_objects([document(**spec)])
    assert loaded.notifications == ()
    (error,) = loaded.errors
    assert error.kind == "Notification"
    assert error.name == "n"
    assert why in error.message
    assert "pw" not in error.message
