"""Webhook receivers: every signature scheme accepted when right and refused when forged, missing,
oversized or malformed; a valid push triggers exactly the repository it names; the server keeps
serving after bad requests; the secret never appears in an answer."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gitward.api import create_app
from gitward.model import Receiver
from gitward.reconcile.secrets import receiver_secret

TOKEN = "test-token-0123456789"
SECRET = "webhook-secret-do-not-leak-0123"
REPO = "https://git.example.com/org/apps.git"
OTHER_REPO = "https://git.example.com/org/other.git"
LIMIT = 1024 * 1024


class WebhookEngine:
    """Just the two calls the webhook route makes; records every trigger."""

    def __init__(self, secret_dir: Path) -> None:
        self.triggered: list[str] = []
        self.refs: list[dict[str, str]] = []
        self.receivers: dict[str, Receiver] = {}
        self.apps = {"git.example.com/org/apps": ["apps-a", "apps-b"], "git.example.com/org/other": ["x"]}
        self.secret_dir = secret_dir

    def add_receiver(self, name: str, kind: str, *, secret: str | None = SECRET) -> None:
        path = self.secret_dir / f"{name}.secret"
        if secret is not None:
            path.write_text(secret + "\n")
        self.receivers[name] = Receiver.model_validate(
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Receiver",
                "metadata": {"name": name},
                "spec": {"type": kind, "secretFile": str(path)},
            }
        )

    def webhook_receiver(self, name: str) -> Receiver | None:
        return self.receivers.get(name)

    async def webhook_secret(self, receiver: Receiver) -> bytes:
        return await receiver_secret(receiver, None)  # the engine's reading of a secretFile

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        from gitward.core.repourl import repository_key

        self.triggered.append(url)
        self.refs.append(dict(refs or {}))
        return self.apps.get(repository_key(url), [])


def _sig(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _github(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Hub-Signature-256": f"sha256={_sig(body, secret)}", "X-GitHub-Event": "push"}


def _gitlab(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Gitlab-Token": secret, "X-Gitlab-Event": "Push Hook"}


def _gitea(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Gitea-Signature": _sig(body, secret)}


def _forgejo(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Forgejo-Signature": _sig(body, secret)}


def _bitbucket(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Hub-Signature": f"sha256={_sig(body, secret)}", "X-Event-Key": "repo:push"}


def _generic(body: bytes, secret: str) -> dict[str, str]:
    return {"X-Gitward-Signature": f"sha256={_sig(body, secret)}"}


Signer = Callable[[bytes, str], dict[str, str]]

# (receiver type, signer, payload naming REPO the way that host does)
SCHEMES: dict[str, tuple[str, Signer, dict[str, Any]]] = {
    "github": (
        "github",
        _github,
        {
            "ref": "refs/heads/main",
            "repository": {
                "clone_url": REPO,
                "html_url": "https://git.example.com/org/apps",
                "ssh_url": "git@git.example.com:org/apps.git",
            },
        },
    ),
    "gitlab": (
        "gitlab",
        _gitlab,
        {
            "object_kind": "push",
            "project": {
                "git_http_url": REPO,
                "git_ssh_url": "git@git.example.com:org/apps.git",
                "web_url": "https://git.example.com/org/apps",
            },
        },
    ),
    "gitea": ("gitea", _gitea, {"repository": {"clone_url": REPO, "html_url": REPO[:-4]}}),
    "forgejo": (
        "gitea",
        _forgejo,
        {"repository": {"clone_url": REPO, "ssh_url": "git@git.example.com:org/apps"}},
    ),
    "bitbucket-cloud": (
        "bitbucket",
        _bitbucket,
        {"repository": {"type": "repository", "links": {"html": {"href": REPO[:-4]}}}},
    ),
    "bitbucket-server": (
        "bitbucket",
        _bitbucket,
        {
            "repository": {
                "links": {
                    "clone": [
                        {"href": "ssh://git@git.example.com:7999/org/apps.git", "name": "ssh"},
                        {"href": REPO, "name": "http"},
                    ]
                }
            }
        },
    ),
    "generic": ("generic", _generic, {"repository": REPO}),
}


@pytest.fixture
def engine(tmp_path: Path) -> WebhookEngine:
    service = WebhookEngine(tmp_path)
    for name, (kind, _, _) in SCHEMES.items():
        service.add_receiver(name, kind)
    return service


@pytest.fixture
def client(engine: WebhookEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, token=TOKEN), raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


def _post(client: TestClient, receiver: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/webhooks/{receiver}",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_valid_delivery_triggers_the_named_repository_once(
    client: TestClient, engine: WebhookEngine, receiver: str
) -> None:
    _, sign, payload = SCHEMES[receiver]
    body = json.dumps(payload).encode()
    response = _post(client, receiver, body, sign(body, SECRET))
    assert response.status_code == 200, response.text
    assert response.json()["triggered"] == ["apps-a", "apps-b"]
    assert len(engine.triggered) == 1  # every spelling of one repository is one trigger
    assert engine.triggered[0].endswith(("org/apps", "org/apps.git"))


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_forged_signature_is_refused_and_triggers_nothing(
    client: TestClient, engine: WebhookEngine, receiver: str
) -> None:
    _, sign, payload = SCHEMES[receiver]
    body = json.dumps(payload).encode()
    response = _post(client, receiver, body, sign(body, "not-the-secret"))
    assert response.status_code == 401
    assert engine.triggered == []
    # the body signed with the right secret but delivered changed is forged too
    tampered = json.dumps({**payload, "extra": 1}).encode()
    if receiver != "gitlab":  # GitLab sends the token itself: it signs nothing
        assert _post(client, receiver, tampered, sign(body, SECRET)).status_code == 401
    assert engine.triggered == []
    assert SECRET not in response.text


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_missing_signature_is_refused(client: TestClient, engine: WebhookEngine, receiver: str) -> None:
    body = json.dumps(SCHEMES[receiver][2]).encode()
    response = _post(client, receiver, body, {})
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"
    assert engine.triggered == []


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_oversized_payload_is_refused_before_it_is_read(
    client: TestClient, engine: WebhookEngine, receiver: str
) -> None:
    _, sign, payload = SCHEMES[receiver]
    body = json.dumps({**payload, "padding": "x" * LIMIT}).encode()
    response = _post(client, receiver, body, sign(body, SECRET))
    assert response.status_code == 413
    assert engine.triggered == []


def test_oversized_chunked_payload_without_length_is_cut_off(
    client: TestClient, engine: WebhookEngine
) -> None:
    chunk = b"x" * 65536

    def stream() -> Iterator[bytes]:
        yield from [chunk] * 64  # 4 MiB, sent without Content-Length: the cap applies while reading

    response = client.post(
        "/api/v1/webhooks/generic",
        content=stream(),
        headers={"X-Gitward-Signature": "sha256=" + "0" * 64, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert engine.triggered == []


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_malformed_payload_is_a_bad_request(client: TestClient, engine: WebhookEngine, receiver: str) -> None:
    _, sign, _ = SCHEMES[receiver]
    for body in (b"{not json", b"[1, 2]", b""):
        response = _post(client, receiver, body, sign(body, SECRET))
        assert response.status_code == 400, body
    assert engine.triggered == []


def test_server_keeps_serving_after_bad_deliveries(client: TestClient, engine: WebhookEngine) -> None:
    _, sign, payload = SCHEMES["github"]
    body = json.dumps(payload).encode()
    assert _post(client, "github", b"{", sign(b"{", SECRET)).status_code == 400
    assert _post(client, "github", body, sign(body, "forged")).status_code == 401
    assert _post(client, "github", b"x" * (LIMIT + 1), sign(b"", SECRET)).status_code == 413
    assert client.get("/healthz").status_code == 200
    assert _post(client, "github", body, sign(body, SECRET)).status_code == 200
    assert engine.triggered == [REPO]


def test_github_push_triggers_exactly_the_matching_repository(
    client: TestClient, engine: WebhookEngine
) -> None:
    payload = {
        "ref": "refs/heads/main",
        "repository": {
            "clone_url": OTHER_REPO,
            "html_url": "https://git.example.com/org/other",
            "ssh_url": "git@git.example.com:org/other.git",
        },
    }
    body = json.dumps(payload).encode()
    response = _post(client, "github", body, _github(body, SECRET))
    assert response.status_code == 200
    assert response.json() == {"repositories": [OTHER_REPO], "triggered": ["x"]}
    assert engine.triggered == [OTHER_REPO]


def test_form_encoded_github_delivery_is_read_from_its_payload_field(
    client: TestClient, engine: WebhookEngine
) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(SCHEMES["github"][2])}).encode()
    response = client.post(
        "/api/v1/webhooks/github",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **_github(body, SECRET)},
    )
    assert response.status_code == 200
    assert engine.triggered == [REPO]


def test_ping_is_accepted_and_triggers_nothing(client: TestClient, engine: WebhookEngine) -> None:
    body = json.dumps({"zen": "Keep it simple.", **SCHEMES["github"][2]}).encode()
    response = _post(client, "github", body, {**_github(body, SECRET), "X-GitHub-Event": "ping"})
    assert response.status_code == 200
    assert response.json()["triggered"] == []
    assert engine.triggered == []


def test_unknown_receiver_is_not_found(client: TestClient, engine: WebhookEngine) -> None:
    body = b"{}"
    for name in ("nope", "..", "UPPER"):
        assert _post(client, name, body, _generic(body, SECRET)).status_code == 404
    assert engine.triggered == []


def test_unreadable_secret_refuses_without_revealing_anything(
    client: TestClient, engine: WebhookEngine
) -> None:
    engine.add_receiver("lost", "generic", secret=None)
    engine.add_receiver("empty", "generic", secret="")
    body = json.dumps({"repository": REPO}).encode()
    for name in ("lost", "empty"):
        response = _post(client, name, body, _generic(body, ""))
        assert response.status_code == 503
        assert ".secret" not in response.text
    assert engine.triggered == []


def test_webhooks_need_no_bearer_token_but_the_rest_of_the_api_still_does(client: TestClient) -> None:
    body = json.dumps({"repository": REPO}).encode()
    assert _post(client, "generic", body, _generic(body, SECRET)).status_code == 200
    assert client.get("/api/v1/apps").status_code == 401


DELIVERY_ID_HEADER = {
    "github": "X-GitHub-Delivery",
    "gitlab": "Idempotency-Key",
    "gitea": "X-Gitea-Delivery",
    "forgejo": "X-Forgejo-Delivery",
    "bitbucket-cloud": "X-Request-UUID",
    "bitbucket-server": "X-Request-Id",
    "generic": "X-Gitward-Delivery",
}
PUSHED = "3" * 40


@pytest.mark.parametrize("receiver", sorted(SCHEMES))
def test_a_replayed_delivery_id_is_answered_without_work(
    client: TestClient, engine: WebhookEngine, receiver: str
) -> None:
    _, sign, payload = SCHEMES[receiver]
    body = json.dumps(payload).encode()
    headers = {**sign(body, SECRET), DELIVERY_ID_HEADER[receiver]: "6f1c2a3e-0001"}
    first = _post(client, receiver, body, headers)
    assert first.status_code == 200
    assert "duplicate" not in first.json()
    again = _post(client, receiver, body, headers)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["triggered"] == []
    assert len(engine.triggered) == 1
    # a new delivery id is a new delivery (these bodies name no commit)
    other = _post(client, receiver, body, {**headers, DELIVERY_ID_HEADER[receiver]: "6f1c2a3e-0002"})
    assert "duplicate" not in other.json()
    assert len(engine.triggered) == 2


def test_a_push_body_naming_its_commit_is_a_replay_under_any_delivery_id(
    client: TestClient, engine: WebhookEngine
) -> None:
    payload = {**SCHEMES["github"][2], "ref": "refs/heads/main", "after": PUSHED}
    body = json.dumps(payload).encode()
    assert (
        _post(client, "github", body, {**_github(body, SECRET), "X-GitHub-Delivery": "1"}).status_code == 200
    )
    assert engine.refs == [{"refs/heads/main": PUSHED}]  # what the push moved reaches the engine
    again = _post(client, "github", body, {**_github(body, SECRET), "X-GitHub-Delivery": "2"})
    assert again.json()["duplicate"] is True
    next_push = json.dumps({**payload, "after": "4" * 40}).encode()
    assert "duplicate" not in _post(client, "github", next_push, _github(next_push, SECRET)).json()
    assert len(engine.triggered) == 2


def test_a_body_that_names_no_commit_is_never_a_replay_by_its_body(
    client: TestClient, engine: WebhookEngine
) -> None:
    """``{"repository": url}`` is the same for every push: taking it for a replay would lose pushes."""
    body = json.dumps({"repository": REPO}).encode()
    for _ in range(3):
        response = _post(client, "generic", body, _generic(body, SECRET))
        assert response.json()["triggered"] == ["apps-a", "apps-b"]
    assert engine.triggered == [REPO] * 3
    assert engine.refs == [{}] * 3


def test_a_forged_delivery_cannot_make_the_real_one_a_replay(
    client: TestClient, engine: WebhookEngine
) -> None:
    payload = {**SCHEMES["github"][2], "after": PUSHED}
    body = json.dumps(payload).encode()
    delivery = {"X-GitHub-Delivery": "captured-id"}
    forged = _post(client, "github", body, {**_github(body, "guessed-secret"), **delivery})
    assert forged.status_code == 401
    real = _post(client, "github", body, {**_github(body, SECRET), **delivery})
    assert real.status_code == 200
    assert "duplicate" not in real.json()
    assert engine.triggered == [REPO]
