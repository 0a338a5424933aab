"""Commit statuses: the repository read from the app's repoURL, the state per host, and the skip of
an app without a commit id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from gitward.model.notification import GiteaTarget, GitHubTarget, GitLabTarget
from gitward.notify.commitstatus import commit_status_request, repository_of, state_of
from gitward.notify.events import AppEvent
from gitward.notify.message import Message
from gitward.notify.secrets import DeliveryError, Skipped


@pytest.mark.parametrize(
    ("repo_url", "github", "gitlab"),
    [
        ("https://github.com/org/app.git", "org/app", "org/app"),
        ("git@github.com:org/app.git", "org/app", "org/app"),
        ("ssh://git@gitlab.example.com:2222/group/sub/app", None, "group/sub/app"),
        ("https://gitlab.example.com/group/sub/app/", None, "group/sub/app"),
        ("file:///srv/git/app.git", None, None),
        ("https://github.com/org", None, None),
    ],
)
def test_the_repository_is_read_from_the_repo_url(
    repo_url: str, github: str | None, gitlab: str | None
) -> None:
    for target, wanted in ((GitHubTarget(type="github", token_file="/t"), github),
                           (GitLabTarget(type="gitlab", token_file="/t"), gitlab)):  # fmt: skip
        if wanted is None:
            with pytest.raises(DeliveryError, match="set repository on the target"):
                repository_of(target, repo_url)
        else:
            assert repository_of(target, repo_url) == wanted


def test_states_per_host() -> None:
    triggers = ("SyncSucceeded", "DriftHealed", "SyncFailed", "HealthDegraded", "OutOfSync")
    assert [state_of(t, "github") for t in triggers] == [
        "success",
        "success",
        "failure",
        "failure",
        "pending",
    ]
    assert state_of("SyncFailed", "gitlab") == "failed"
    assert state_of("SyncFailed", "gitea") == "failure"


def message(commit: str, repo_url: str = "https://gitlab.example.com/group/sub/app.git") -> Message:
    event = AppEvent("SyncFailed", "web", "default", "local", "web", repo_url, "main", commit, "x" * 300,
                     "OutOfSync", "Healthy")  # fmt: skip
    return Message("id", "n", event, "y" * 300, "")


def test_gitlab_takes_the_encoded_project_path_and_a_short_description(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("glpat-test-token\n")
    target = GitLabTarget(type="gitlab", token_file=str(token), base_url="http://127.0.0.1:1/")
    request = commit_status_request(target, message("d" * 40), context="gitward/web")
    assert request.url == f"http://127.0.0.1:1/api/v4/projects/group%2Fsub%2Fapp/statuses/{'d' * 40}"
    assert request.headers["PRIVATE-TOKEN"] == "glpat-test-token"
    body: dict[str, Any] = orjson.loads(request.body)
    assert body["state"] == "failed"
    assert body["name"] == "gitward/web"
    assert len(body["description"]) == 140


def test_an_app_without_a_commit_id_is_skipped_before_any_file_is_read() -> None:
    target = GiteaTarget(
        type="gitea", token_file="/nonexistent", base_url="http://127.0.0.1:1", repository="o/r"
    )
    with pytest.raises(Skipped):
        commit_status_request(target, message("6.5.0"), context="c")


def test_an_unreadable_token_file_names_the_file_not_a_secret(tmp_path: Path) -> None:
    target = GitHubTarget(type="github", token_file=str(tmp_path / "missing"), repository="o/r")
    with pytest.raises(DeliveryError, match=r"cannot read tokenFile .*missing: No such file"):
        commit_status_request(target, message("e" * 40), context="c")
