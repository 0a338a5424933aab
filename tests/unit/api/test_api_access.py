"""Roles, API tokens and sessions through the real FastAPI app over the in-memory engine.

Every route is asked by every kind of caller; the expected answer comes from the role table of the
issue (viewer reads, deployer syncs, project scope holds, tokens are an admin's), not from the code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.unit.api.api_fake_service import FakeEngine

from gitward.api import create_app
from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.api.identity import Grant, Principal
from gitward.api.roles import RoleBook
from gitward.api.sessions import CSRF_HEADER, SESSION_COOKIE
from gitward.model.access import Role
from gitward.store.tokens import TokenStore

ADMIN_TOKEN = "admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

READS = [
    ("GET", "/api/v1/apps/podinfo"),
    ("GET", "/api/v1/apps/podinfo/diff"),
    ("GET", "/api/v1/apps/podinfo/history"),
    ("GET", "/api/v1/events?app=podinfo"),
]
WRITES = [
    ("POST", "/api/v1/apps/podinfo/sync", "sync"),
    ("POST", "/api/v1/apps/podinfo/refresh", "refresh"),
    ("POST", "/api/v1/apps/podinfo/rollback/6", "rollback"),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.apps["broken"]["project"] = "team-b"  # podinfo and rolling stay in project "default"
    return engine


@pytest.fixture
def access(clock: Clock) -> Access:
    release = Role.model_validate(
        {
            "metadata": {"name": "releaser"},
            "spec": {"rules": [{"resources": ["applications"], "actions": ["get", "rollback"]}]},
        }
    )
    return Access(
        admin_token=ADMIN_TOKEN,
        tokens=TokenRegistry(None, clock=clock),
        roles=RoleBook.from_config([release], []),
    )


@pytest.fixture
def client(engine: FakeEngine, access: Access) -> Iterator[TestClient]:
    with TestClient(create_app(engine, access=access), raise_server_exceptions=False) as test_client:
        yield test_client


def make_token(client: TestClient, role: str, project: str | None = None, **extra: object) -> dict[str, str]:
    body: dict[str, object] = {"name": f"{role}-bot", "role": role, **extra}
    if project is not None:
        body["project"] = project
    created = client.post("/api/v1/tokens", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.mark.parametrize(("method", "path"), READS)
def test_a_viewer_reads_every_app_route(client: TestClient, method: str, path: str) -> None:
    assert client.request(method, path, headers=make_token(client, "viewer")).status_code == 200


@pytest.mark.parametrize(("method", "path", "action"), WRITES)
def test_a_viewer_cannot_write_and_is_told_what_is_missing(
    client: TestClient, engine: FakeEngine, method: str, path: str, action: str
) -> None:
    response = client.request(method, path, headers=make_token(client, "viewer"))
    assert response.status_code == 403
    body = response.json()
    assert body["reason"] == "Forbidden"
    assert f"may not {action} application 'podinfo'" in body["message"]
    assert f"a role with '{action}' on applications" in body["message"]
    assert "has viewer on every project" in body["message"]
    assert engine.initiators == []  # the engine was never asked


@pytest.mark.parametrize(("method", "path", "action"), WRITES)
def test_a_deployer_writes_and_the_engine_hears_who(
    client: TestClient, engine: FakeEngine, method: str, path: str, action: str
) -> None:
    response = client.request(method, path, headers=make_token(client, "deployer"))
    assert response.status_code == 200, response.text
    assert engine.initiators == [(action, "podinfo", "token:deployer-bot")]


def test_the_admin_token_file_stays_an_admin(client: TestClient, engine: FakeEngine) -> None:
    assert client.post("/api/v1/apps/podinfo/sync", headers=ADMIN).status_code == 200
    assert client.get("/metrics", headers=ADMIN).status_code == 200
    assert client.get("/api/v1/whoami", headers=ADMIN).json()["name"] == "admin"
    assert engine.initiators == [("sync", "podinfo", "admin")]


def test_a_project_deployer_stays_in_its_project(client: TestClient, engine: FakeEngine) -> None:
    team_b = make_token(client, "deployer", project="team-b")
    assert client.post("/api/v1/apps/broken/sync", headers=team_b).status_code == 200
    refused = client.post("/api/v1/apps/podinfo/sync", headers=team_b)
    assert refused.status_code == 403
    assert "in project 'default'" in refused.json()["message"]
    assert "has deployer on project 'team-b'" in refused.json()["message"]
    # An app that does not exist looks the same as one of another project: nothing to probe.
    assert client.get("/api/v1/apps/nothere", headers=team_b).status_code == 403
    assert [a["name"] for a in client.get("/api/v1/apps", headers=team_b).json()] == ["broken"]
    assert {e["app"] for e in client.get("/api/v1/events", headers=team_b).json()} == {"broken"}
    assert client.get("/metrics", headers=team_b).status_code == 403  # server-wide: not a project's


def test_a_custom_role_allows_exactly_its_rules(client: TestClient) -> None:
    releaser = make_token(client, "releaser")
    assert client.post("/api/v1/apps/podinfo/rollback/6", headers=releaser).status_code == 200
    assert client.get("/api/v1/apps/podinfo", headers=releaser).status_code == 200
    assert client.post("/api/v1/apps/podinfo/sync", headers=releaser).status_code == 403


def test_only_a_global_admin_manages_tokens(client: TestClient) -> None:
    for role, project in (("deployer", None), ("admin", "team-b")):
        caller = make_token(client, role, project=project)
        refused = client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=caller)
        assert refused.status_code == 403
        assert "needs the admin role on every project" in refused.json()["message"]
        assert client.get("/api/v1/tokens", headers=caller).status_code == 403


def test_an_unknown_role_is_refused_at_creation(client: TestClient) -> None:
    response = client.post("/api/v1/tokens", json={"name": "x", "role": "superuser"}, headers=ADMIN)
    assert response.status_code == 400
    assert "role 'superuser' is not defined" in response.json()["message"]


def test_list_shows_no_secret_and_revoke_refuses_at_once(client: TestClient) -> None:
    viewer = make_token(client, "viewer")
    secret = viewer["Authorization"].removeprefix("Bearer ")
    listed = client.get("/api/v1/tokens", headers=ADMIN)
    assert secret not in listed.text
    assert secret[len("gwt_") + 13 :] not in listed.text  # gwt_<12-hex id>_<secret>
    [entry] = listed.json()
    assert entry["createdBy"] == "admin"
    assert client.delete(f"/api/v1/tokens/{entry['id']}", headers=ADMIN).status_code == 200
    refused = client.get("/api/v1/apps", headers=viewer)
    assert refused.status_code == 401
    assert refused.json()["message"] == f"API token {entry['id']} was revoked"
    assert client.delete(f"/api/v1/tokens/{entry['id']}", headers=ADMIN).status_code == 404


def test_an_expired_token_is_refused(client: TestClient, clock: Clock) -> None:
    viewer = make_token(client, "viewer", expiresIn=60)
    assert client.get("/api/v1/apps", headers=viewer).status_code == 200
    clock.now += 60
    refused = client.get("/api/v1/apps", headers=viewer)
    assert refused.status_code == 401
    assert "has expired" in refused.json()["message"]


@pytest.mark.parametrize(
    "token",
    ["gwt_000000000000_nothing", "gwt_short_x", "gwt_", "not-a-token", "a.b.c"],
)
def test_made_up_tokens_are_unknown(client: TestClient, token: str) -> None:
    make_token(client, "viewer")
    response = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert token not in response.text


def test_a_forged_secret_for_a_real_id_is_unknown(client: TestClient) -> None:
    real = make_token(client, "admin")["Authorization"].removeprefix("Bearer ")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    response = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["message"] == "unknown API token"


def test_tokens_are_stored_hashed_and_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = TokenStore.open(db)
    token, record = TokenRegistry(store).create(
        name="ci", role="deployer", project="team-a", expires_in=None, created_by="admin"
    )
    store.close()
    secret = token[len("gwt_") + 13 :]  # gwt_<12-hex id>_<secret>; the secret may hold "_"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.db"))
    assert secret.encode() not in raw
    assert token.encode() not in raw
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT role, project FROM api_tokens").fetchall() == [("deployer", "team-a")]
    reopened = TokenStore.open(db)
    principal = TokenRegistry(reopened).verify(token)
    reopened.close()
    assert principal.grants == (Grant("deployer", "team-a"),)
    assert principal.token_id == record.id


def test_a_session_write_needs_its_csrf_header(
    client: TestClient, access: Access, engine: FakeEngine
) -> None:
    session = access.sessions.create(Principal("alice@example.com", "session", (Grant("deployer"),)))
    client.cookies.set(SESSION_COOKIE, session.id)
    assert client.get("/api/v1/apps/podinfo").status_code == 200
    refused = client.post("/api/v1/apps/podinfo/sync")
    assert refused.status_code == 401
    assert CSRF_HEADER in refused.json()["message"]
    assert client.post("/api/v1/apps/podinfo/sync", headers={CSRF_HEADER: session.csrf}).status_code == 200
    assert engine.initiators == [("sync", "podinfo", "alice@example.com")]
    access.sessions.drop(session.id)
    assert client.get("/api/v1/apps/podinfo").status_code == 401
