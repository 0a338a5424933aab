"""A target's secrets from its Secret (``secretRef``, run --from-cluster) or its files, read at send
time; errors name the Secret and key or the file, never a value; a message with nothing to mark reads
no secret at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any, cast

import pytest

from gitward.cluster.client import KubeClient
from gitward.model.notification import GitHubTarget, SlackTarget, WebhookTarget
from gitward.notify.events import AppEvent
from gitward.notify.message import Message
from gitward.notify.notifier import request_for
from gitward.notify.secrets import DeliveryError, Skipped, TargetSecrets, fetch_secrets
from gitward.reconcile.secrets import ClusterSecrets

COMMIT = "c" * 40


class _Kube:
    """Answers GETs of Secrets from a table, counting them (the client is tested with the cluster)."""

    def __init__(self, secrets: dict[tuple[str, str], dict[str, str]]) -> None:
        self.secrets = secrets
        self.gets = 0

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind) == ("v1", "Secret")
        self.gets += 1
        data = self.secrets.get((namespace, name))
        if data is None:
            return None
        return {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _message(commit: str = COMMIT) -> Message:
    event = AppEvent("SyncSucceeded", "web", "default", "local", "web", "https://git.example/o/r.git", "main",
                     commit, "synced", "Synced", "Healthy")  # fmt: skip
    return Message("id-1", "deploys", event, "web synced", "")


def _reader(kube: _Kube, tmp_path: Path) -> ClusterSecrets:
    return ClusterSecrets(cast(KubeClient, kube), tmp_path / "secrets")


async def test_a_webhook_is_signed_with_the_secrets_key_and_sent_to_its_url(tmp_path: Path) -> None:
    kube = _Kube({("team", "hooks"): {"secret": "hmac-key\n", "url": "https://hooks.example.com/in"}})
    target = WebhookTarget.model_validate({"type": "webhook", "secretRef": {"name": "hooks"}})

    async def secrets() -> TargetSecrets:
        return await fetch_secrets(target, reader=_reader(kube, tmp_path), namespace="team", owner="n")

    request = await request_for(target, _message(), secrets=secrets)
    assert request.url == "https://hooks.example.com/in"
    wanted = "sha256=" + hmac.new(b"hmac-key", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Gitward-Signature"] == wanted


async def test_a_missing_key_or_a_url_that_is_not_one_names_the_secret_never_a_value(tmp_path: Path) -> None:
    kube = _Kube({("team", "hooks"): {"url": "not a url but a secret"}})
    slack = SlackTarget.model_validate({"type": "slack", "secretRef": {"name": "hooks"}})
    owner = "Notification 'deploys', target 'slack'"
    found = await fetch_secrets(slack, reader=_reader(kube, tmp_path), namespace="team", owner=owner)
    with pytest.raises(DeliveryError) as bad_url:
        found.url()
    said = str(bad_url.value)
    assert said.startswith(f"the key 'url' of Secret 'hooks' (the secretRef of {owner}) does not hold one")
    assert "not a url but a secret" not in said
    hook = WebhookTarget.model_validate(
        {"type": "webhook", "url": "https://h/x", "secretRef": {"name": "hooks"}}
    )
    with pytest.raises(DeliveryError) as missing:
        await fetch_secrets(hook, reader=_reader(kube, tmp_path), namespace="team", owner=owner)
    assert str(missing.value) == f"Secret 'hooks' (the secretRef of {owner}) has no key 'secret'"
    with pytest.raises(DeliveryError, match="only with gitward run --from-cluster"):
        await fetch_secrets(hook, reader=None, namespace="team", owner=owner)


async def test_a_commit_status_with_no_commit_to_mark_reads_no_secret(tmp_path: Path) -> None:
    kube = _Kube({("team", "tokens"): {"token": "ghp-value"}})
    target = GitHubTarget.model_validate(
        {"type": "github", "secretRef": {"name": "tokens"}, "repository": "o/r"}
    )

    async def secrets() -> TargetSecrets:
        return await fetch_secrets(target, reader=_reader(kube, tmp_path), namespace="team", owner="n")

    with pytest.raises(Skipped):
        await request_for(target, _message("6.5.0"), secrets=secrets)
    assert kube.gets == 0
    request = await request_for(target, _message(), secrets=secrets)
    assert request.headers["Authorization"] == "Bearer ghp-value"
    assert kube.gets == 1


async def test_files_are_still_read_when_the_message_is_built(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://chat.example.com/hook\n")
    target = SlackTarget.model_validate({"type": "slack", "urlFile": str(tmp_path / "url")})

    async def secrets() -> TargetSecrets:
        return await fetch_secrets(target, reader=None, namespace="team", owner="n")

    assert (await request_for(target, _message(), secrets=secrets)).url == "https://chat.example.com/hook"
