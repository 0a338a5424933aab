"""Commit statuses on GitHub, GitLab and Gitea: the state of a deployment shown on the commit.

Each host's documented call, with the token read from the target's file or Secret (``secrets``):

- GitHub: ``POST {baseURL}/repos/{owner}/{repo}/statuses/{sha}``, ``Authorization: Bearer <token>``,
  states ``success``, ``failure``, ``pending``.
- GitLab: ``POST {baseURL}/api/v4/projects/{id}/statuses/{sha}``, ``PRIVATE-TOKEN: <token>``, states
  ``success``, ``failed``, ``pending``; the context goes in ``name``.
- Gitea: ``POST {baseURL}/api/v1/repos/{owner}/{repo}/statuses/{sha}``, ``Authorization: token
  <token>``, states ``success``, ``failure``, ``pending``.

GitHub's ``baseURL`` is its API root (``https://api.github.com``, ``https://HOST/api/v3`` for GitHub
Enterprise); GitLab's and Gitea's are the server's address. The repository is the target's
``repository`` or, without it, the path of the app's ``repoURL`` (``https://github.com/org/app.git``
and ``git@github.com:org/app.git`` are ``org/app``; GitLab takes the whole group path, URL-encoded,
as the project id). The commit is the operation's, so a status lands on the commit that was synced.

An event without a full commit id (a Helm chart's version) is skipped: there is no commit to mark.

Deliberately not here: retries and rate limits (``delivery``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import orjson

from gitward.core.repourl import repository_key
from gitward.model.notification import GiteaTarget, GitHubTarget, GitLabTarget
from gitward.notify.message import USER_AGENT, Message, Request
from gitward.notify.secrets import DeliveryError, Skipped, TargetSecrets

CommitStatusTarget = GitHubTarget | GitLabTarget | GiteaTarget

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
MAX_DESCRIPTION = 140  # GitHub refuses longer descriptions
_STATES = {"SyncSucceeded": "success", "DriftHealed": "success", "OutOfSync": "pending"}  # else failure
_DEFAULT_BASE = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}


def state_of(trigger: str, host: str) -> str:
    state = _STATES.get(trigger, "failure")
    return "failed" if state == "failure" and host == "gitlab" else state


def repository_of(target: CommitStatusTarget, repo_url: str) -> str:
    """``owner/repo`` (GitLab: ``group/sub/project``) from the target or the app's repoURL."""
    if target.repository:
        path = target.repository.strip("/")
    else:
        key = repository_key(repo_url)
        path = key.partition("/")[2] if key and not key.startswith("/") else ""
    segments = [s for s in path.split("/") if s]
    wanted_two = target.type != "gitlab"
    if len(segments) < 2 or (wanted_two and len(segments) != 2) or ".." in segments:
        raise DeliveryError(
            f"cannot tell the {target.type} repository from the app's repoURL; set repository on the target"
        )
    return "/".join(segments)


def _description(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_DESCRIPTION else flat[: MAX_DESCRIPTION - 1] + "…"


def markable(target: CommitStatusTarget, message: Message) -> str:
    """The repository whose commit is marked; ``Skipped`` when there is no commit id (checked before
    any secret is read)."""
    event = message.event
    if not _SHA.match(event.commit):
        raise Skipped(f"no commit id to mark ({event.app} has {event.commit[:20]!r})")
    return repository_of(target, event.repo_url)


def commit_status_request(
    target: CommitStatusTarget, message: Message, *, context: str, secrets: TargetSecrets | None = None
) -> Request:
    event = message.event
    repository = markable(target, message)
    token = (secrets or TargetSecrets(target)).get("token_file")
    base = (target.base_url or _DEFAULT_BASE[target.type]).rstrip("/")
    state = state_of(event.trigger, target.type)
    body: dict[str, str] = {"state": state, "description": _description(message.text)}
    if message.link:
        body["target_url"] = message.link
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if target.type == "github":
        url = f"{base}/repos/{repository}/statuses/{event.commit}"
        headers |= {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        body["context"] = context
    elif target.type == "gitlab":
        url = f"{base}/api/v4/projects/{quote(repository, safe='')}/statuses/{event.commit}"
        headers["PRIVATE-TOKEN"] = token
        body["name"] = context
    else:
        url = f"{base}/api/v1/repos/{repository}/statuses/{event.commit}"
        headers["Authorization"] = f"token {token}"
        body["context"] = context
    return Request(url=url, headers=headers, body=orjson.dumps(body))
