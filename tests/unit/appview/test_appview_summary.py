"""The app summary and the stream event, built from a spec and a stored status without an engine."""

from __future__ import annotations

import pytest

from gitward.appview import invalid_summary, status_event, summary_of
from gitward.core.appstatus import AppStatus
from gitward.model import Application

pytestmark = pytest.mark.unit


def application() -> Application:
    return Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "labels": {"team": "a"}},
            "spec": {
                "project": "prod",
                "source": {"repoURL": "https://ghp-token-123@git.example.com/r.git", "path": "web"},
                "destination": {"cluster": "c1", "namespace": "web"},
            },
        }
    )


def test_a_summary_shows_the_stored_status_and_never_a_url_credential() -> None:
    status = AppStatus.from_dict(
        {
            "sync": {"status": "OutOfSync", "revision": "abc"},
            "error": "boom",
            "suspended": True,
            "syncWindow": {"message": "blocked", "windows": ["night"], "until": 9.0},
        }
    )
    summary = summary_of(application(), status, parent=None, revision="main", running=None, terminating=False)
    assert "ghp-token-123" not in summary["repoURL"]
    assert summary["sync"] == {"status": "OutOfSync", "revision": "abc"}
    assert summary["health"] == {"status": "Unknown", "message": ""}
    assert summary["message"] == "boom"
    assert summary["suspendedBy"] == "rollback"  # a row from before suspendedBy existed
    assert summary["syncWindow"] == {"message": "blocked", "windows": ["night"], "until": 9.0}
    assert summary["labels"] == {"team": "a"}
    event = status_event(summary)
    assert (event["app"], event["sync"], event["health"], event["suspended"]) == (
        "web",
        "OutOfSync",
        "Unknown",
        True,
    )
    assert event["operation"] is None


def test_an_invalid_app_is_listed_with_its_error_in_the_same_shape() -> None:
    summary = summary_of(
        application(), AppStatus(), parent=None, revision="main", running=None, terminating=False
    )
    invalid = invalid_summary("broken", "spec.source: missing")
    assert invalid.keys() == summary.keys()
    assert invalid["message"] == "spec.source: missing"
    assert [c["type"] for c in invalid["conditions"]] == ["Ready", "Stalled"]
