"""The REST API against an in-memory engine: auth, every route, error mapping, OpenAPI, metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.unit.api.api_fake_service import LEAKY_SECRET, FakeEngine

from gitward.api import create_app

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(engine: FakeEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, token=TOKEN), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/apps"),
        ("GET", "/api/v1/apps/podinfo"),
        ("GET", "/api/v1/apps/podinfo/diff"),
        ("POST", "/api/v1/apps/podinfo/sync"),
        ("POST", "/api/v1/apps/podinfo/refresh"),
        ("GET", "/api/v1/apps/podinfo/history"),
        ("POST", "/api/v1/apps/podinfo/rollback/6"),
        ("GET", "/api/v1/events"),
        ("GET", "/metrics"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}],
)
def test_protected_routes_refuse_missing_or_wrong_token(
    client: TestClient, engine: FakeEngine, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text
    assert engine.calls == []


def test_probes_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_reports_not_ready() -> None:
    app = create_app(FakeEngine(), token=TOKEN, ready=lambda: False)
    with TestClient(app) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503


def test_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        create_app(FakeEngine(), token="")


def test_list_and_get_apps(client: TestClient) -> None:
    apps = client.get("/api/v1/apps", headers=AUTH).json()
    assert [a["name"] for a in apps] == ["podinfo", "broken", "rolling"]
    app = client.get("/api/v1/apps/broken", headers=AUTH).json()
    assert app["sync"] == {"status": "OutOfSync", "revision": "9a8b7c6"}
    assert app["health"]["status"] == "Degraded"
    assert app["destination"] == {"cluster": "prod", "namespace": "broken"}
    assert app["resources"][0]["kind"] == "Deployment"


def test_diff(client: TestClient) -> None:
    entries = client.get("/api/v1/apps/broken/diff", headers=AUTH).json()
    assert entries[0]["action"] == "update"
    assert "+  replicas: 2" in entries[0]["diff"]


def test_sync_passes_body_through(client: TestClient, engine: FakeEngine) -> None:
    body = {"revision": "v1.2.3", "prune": False, "force": True}
    operation = client.post("/api/v1/apps/podinfo/sync", headers=AUTH, json=body).json()
    assert operation["phase"] == "Succeeded"
    assert operation["revision"] == "v1.2.3"
    assert operation["resources"][0]["action"] == "configured"
    assert ("sync", {"name": "podinfo", "revision": "v1.2.3", "prune": False, "force": True}) in engine.calls


def test_sync_without_body_uses_defaults(client: TestClient, engine: FakeEngine) -> None:
    assert client.post("/api/v1/apps/podinfo/sync", headers=AUTH).status_code == 200
    assert ("sync", {"name": "podinfo", "revision": None, "prune": None, "force": False}) in engine.calls


@pytest.mark.parametrize(
    "body", [{"revision": "--upload-pack=evil"}, {"revision": "main\nx"}, {"unknown": 1}, {"force": "maybe"}]
)
def test_sync_refuses_bad_bodies(client: TestClient, engine: FakeEngine, body: dict[str, object]) -> None:
    response = client.post("/api/v1/apps/podinfo/sync", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert not [c for c in engine.calls if c[0] == "sync"]


def test_refresh_history_rollback_events(client: TestClient, engine: FakeEngine) -> None:
    assert client.post("/api/v1/apps/podinfo/refresh", headers=AUTH).json()["name"] == "podinfo"
    assert ("refresh", "podinfo") in engine.calls
    history = client.get("/api/v1/apps/podinfo/history", headers=AUTH).json()
    assert [h["id"] for h in history] == [7, 6]
    operation = client.post("/api/v1/apps/podinfo/rollback/6", headers=AUTH).json()
    assert operation["trigger"] == "rollback"
    assert ("rollback", {"name": "podinfo", "id": 6}) in engine.calls
    events = client.get("/api/v1/events", headers=AUTH, params={"app": "broken", "limit": 5}).json()
    assert [e["reason"] for e in events] == ["SyncFailed"]
    assert ("events", {"name": "broken", "limit": 5}) in engine.calls


@pytest.mark.parametrize(
    ("name", "status", "reason", "fragment"),
    [
        ("missing", 404, "NotFound", "application missing not found"),
        ("stalled", 422, "RenderFailed", "unknown field 'resourcez'"),
        ("invalid", 422, "ValidationFailed", "bad duration"),
        ("flaky", 503, "TransientError", "git server unreachable"),
        ("waiting", 400, "Waiting", "platform-crds not ready"),
    ],
)
def test_engine_errors_map_to_status(
    client: TestClient, name: str, status: int, reason: str, fragment: str
) -> None:
    response = client.get(f"/api/v1/apps/{name}", headers=AUTH)
    assert response.status_code == status
    assert response.json()["reason"] == reason
    assert fragment in response.json()["message"]


def test_waiting_sets_retry_after(client: TestClient) -> None:
    assert client.post("/api/v1/apps/waiting/sync", headers=AUTH).headers["retry-after"] == "7"


def test_unexpected_errors_hide_their_text(client: TestClient) -> None:
    response = client.get("/api/v1/apps/crash", headers=AUTH)
    assert response.status_code == 500
    assert LEAKY_SECRET not in response.text
    assert response.json() == {"reason": "InternalError", "message": "internal server error"}


@pytest.mark.parametrize("name", ["..", "a..b", "Upper", "-lead", "a%2Fb", "x" * 254])
def test_bad_app_names_are_refused(client: TestClient, engine: FakeEngine, name: str) -> None:
    response = client.get(f"/api/v1/apps/{name}", headers=AUTH)
    assert response.status_code in (400, 404)
    assert not [c for c in engine.calls if c == ("find", name)]


def test_openapi_documents_routes_and_models(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in [
        "/api/v1/apps",
        "/api/v1/apps/{name}",
        "/api/v1/apps/{name}/diff",
        "/api/v1/apps/{name}/sync",
        "/api/v1/apps/{name}/refresh",
        "/api/v1/apps/{name}/history",
        "/api/v1/apps/{name}/rollback/{history_id}",
        "/api/v1/events",
        "/healthz",
        "/readyz",
    ]:
        assert path in paths, path
    schemas = document["components"]["schemas"]
    assert {"AppSummary", "Operation", "DiffEntry", "Event", "HistoryEntry", "SyncRequest"} <= set(schemas)
    get_app = paths["/api/v1/apps/{name}"]["get"]
    assert get_app["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("AppSummary")
    assert "404" in get_app["responses"]
    assert get_app["security"] == [{"HTTPBearer": []}]


def test_metrics_expose_request_counts(client: TestClient) -> None:
    client.get("/api/v1/apps", headers=AUTH)
    text = client.get("/metrics", headers=AUTH).text
    assert 'gitward_api_requests_total{method="GET",route="/api/v1/apps",status="200"}' in text
