"""Web sessions end to end through the real FastAPI app, the real ``Access`` and the real templates:
the token login form, cookie attributes, CSRF on every write made with the session cookie (pages,
the JSON API, both logouts), expiry, logout, and bearer tokens on pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.unit.api.ui_fake_views import FakeViews

from gitward.api import create_app
from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.api.sessions import SessionStore
from gitward.ui.render import renderer

ADMIN_TOKEN = "admin-token-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine() -> FakeViews:
    return FakeViews()


@pytest.fixture
def client(engine: FakeViews, clock: Clock) -> Iterator[TestClient]:
    access = Access(admin_token=ADMIN_TOKEN, tokens=TokenRegistry(None), sessions=SessionStore(clock=clock))
    with TestClient(create_app(engine, access=access, ui=renderer())) as c:
        yield c


def login(client: TestClient, token: str = ADMIN_TOKEN) -> str:
    answer = client.post("/login", data={"token": token, "next": "/apps/podinfo"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/apps/podinfo"
    return str(client.cookies["gitward_csrf"])


def test_a_page_without_credentials_sends_the_browser_to_the_login_form(client: TestClient) -> None:
    answer = client.get("/apps?sync=OutOfSync", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fapps%3Fsync%3DOutOfSync"
    form = client.get("/login")
    assert 'name="token"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]


def test_a_wrong_token_is_refused_and_nothing_is_set(client: TestClient) -> None:
    answer = client.post("/login", data={"token": "not-a-token"}, follow_redirects=False)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "not-a-token" not in answer.text  # what was sent is never echoed


def test_the_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    answer = client.post("/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("gitward_session="))
    csrf = next(c for c in cookies if c.startswith("gitward_csrf="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Max-Age=43200" in session  # the session's 12 hours, by the session store's clock
    assert "Secure" not in session  # plain http: a Secure cookie would never come back
    assert "HttpOnly" not in csrf  # the page's script reads it


def test_over_tls_the_cookies_are_secure(engine: FakeViews) -> None:
    app = create_app(engine, token=ADMIN_TOKEN, ui=renderer())
    with TestClient(app, base_url="https://gitward.test") as tls:
        answer = tls.post("/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
        assert all("Secure" in c for c in answer.headers.get_list("set-cookie"))


def test_a_login_posted_by_another_origin_is_refused(client: TestClient) -> None:
    answer = client.post(
        "/login",
        data={"token": ADMIN_TOKEN},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


def test_page_writes_need_the_csrf_token_from_form_or_header(client: TestClient, engine: FakeViews) -> None:
    csrf = login(client)
    refused = client.post("/apps/podinfo/sync", data={}, follow_redirects=False)
    assert refused.status_code == 401
    wrong = client.post("/apps/podinfo/sync", data={"csrf": "guess"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert not [c for c in engine.calls if c[0] == "sync"]
    by_form = client.post("/apps/podinfo/sync", data={"csrf": csrf}, follow_redirects=False)
    assert by_form.status_code == 303
    by_header = client.post("/apps/podinfo/refresh", headers={"X-Gitward-CSRF": csrf}, follow_redirects=False)
    assert by_header.status_code == 303
    assert ("sync", "podinfo", "admin") in engine.initiators


def test_json_api_writes_with_the_session_cookie_need_the_csrf_header(
    client: TestClient, engine: FakeViews
) -> None:
    csrf = login(client)
    assert client.get("/api/v1/apps/podinfo").status_code == 200  # reads need no token
    cross_site = client.post("/api/v1/apps/podinfo/sync", content=b"", headers={"Content-Type": "text/plain"})
    assert cross_site.status_code == 401
    assert not [c for c in engine.calls if c[0] == "sync"]
    ok = client.post("/api/v1/apps/podinfo/sync", headers={"X-Gitward-CSRF": csrf})
    assert ok.status_code == 200


def test_both_logouts_need_the_csrf_token_and_end_the_session(client: TestClient) -> None:
    csrf = login(client)
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 401
    assert client.post("/auth/logout").status_code == 401
    assert client.get("/apps", follow_redirects=False).status_code == 200  # still signed in
    session = client.cookies["gitward_session"]
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("gitward_session", session)  # a copy kept by an attacker is dead too
    assert client.get("/apps", follow_redirects=False).headers["location"].startswith("/login")


def test_a_session_expires(client: TestClient, clock: Clock) -> None:
    login(client)
    assert client.get("/apps", follow_redirects=False).status_code == 200
    clock.now += 13 * 3600
    answer = client.get("/apps", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_pages_take_a_bearer_token_for_scripts(client: TestClient) -> None:
    ok = client.get("/apps", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200
    assert "podinfo" in ok.text
    bad = client.get("/apps", headers={"Authorization": "Bearer wrong"}, follow_redirects=False)
    assert bad.status_code == 401
    write = client.post(
        "/apps/podinfo/refresh", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, follow_redirects=False
    )
    assert write.status_code == 303  # a bearer token is no cookie: no CSRF token needed
