"""The UI's pages and the paged list through the real app, ``Access``, roles, index and templates."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.unit.api.ui_fake_views import FakeViews

from gitward.api import create_app
from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.ui.render import renderer

ADMIN_TOKEN = "admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def engine() -> FakeViews:
    views = FakeViews()
    views.apps["broken"]["project"] = "team-b"
    for i in range(60):
        name = f"bulk-{i:02d}"
        views.apps[name] = {**views.apps["podinfo"], "name": name, "resources": []}
        views.apps[name]["destination"] = {"cluster": "edge" if i % 2 else "prod", "namespace": name}
    views.reindex()
    return views


@pytest.fixture
def tokens() -> TokenRegistry:
    return TokenRegistry(None)


@pytest.fixture
def client(engine: FakeViews, tokens: TokenRegistry) -> Iterator[TestClient]:
    access = Access(admin_token=ADMIN_TOKEN, tokens=tokens)
    with TestClient(create_app(engine, access=access, ui=renderer())) as c:
        yield c


def token(tokens: TokenRegistry, role: str, project: str | None = None) -> dict[str, str]:
    issued, _ = tokens.create(role=role, project=project, name=role, expires_in=None, created_by="admin")
    return {"Authorization": f"Bearer {issued}"}


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-app="([^"]+)"', html)


def test_the_list_is_paged_filtered_sorted_and_counted(client: TestClient) -> None:
    first = client.get("/apps?size=25", headers=ADMIN)
    assert len(rows(first.text)) == 25
    assert "63 applications" in first.text
    assert 'rel="next" href="/apps?sort=name&amp;size=25&amp;page=2"' in first.text
    last = client.get("/apps?size=25&page=3", headers=ADMIN)
    assert len(rows(last.text)) == 13
    edge = client.get("/apps?cluster=edge&sort=name&desc=1", headers=ADMIN)
    assert rows(edge.text)[:2] == ["bulk-59", "bulk-57"]
    unhealthy = client.get("/apps?health=Degraded", headers=ADMIN)
    assert rows(unhealthy.text) == ["broken"]
    assert "Degraded <b>1</b>" in unhealthy.text
    assert "Healthy <b>61</b>" in unhealthy.text  # counts cover the other statuses too
    assert rows(client.get("/apps?search=ROLL", headers=ADMIN).text) == ["rolling"]


def test_a_project_token_sees_only_its_projects_apps_and_counts(
    client: TestClient, tokens: TokenRegistry
) -> None:
    team_b = token(tokens, "viewer", "team-b")
    page = client.get("/apps", headers=team_b)
    assert rows(page.text) == ["broken"]
    assert "podinfo" not in page.text
    assert client.get("/apps/podinfo", headers=team_b).status_code == 403
    assert client.get("/apps/does-not-exist", headers=team_b).status_code == 403  # no probing


def test_the_app_page_names_a_healthcheck_or_plugin_that_decided_a_node(client: TestClient) -> None:
    page = client.get("/apps/podinfo", headers=ADMIN).text
    assert "health by HealthCheck deploys, rule 1" in page
    assert "built-in ReplicaSet.apps" not in page  # gitward's own checks are the default: not repeated


def test_the_app_page_shows_actions_only_to_roles_that_have_them(
    client: TestClient, tokens: TokenRegistry, engine: FakeViews
) -> None:
    admin = client.get("/apps/podinfo", headers=ADMIN)
    assert 'href="/apps/podinfo/sync"' in admin.text
    assert 'action="/api/v1/apps/podinfo/suspend"' in admin.text  # an action route of the API: a button
    assert "podinfo: 2 replicas" in admin.text  # the commit's subject
    assert "ReplicaSet" in admin.text
    viewer = token(tokens, "viewer")
    page = client.get("/apps/podinfo", headers=viewer)
    assert page.status_code == 200
    assert 'href="/apps/podinfo/sync"' not in page.text
    assert "/refresh" not in page.text
    assert "/suspend" not in page.text
    for path in ("/apps/podinfo/sync", "/apps/podinfo/refresh", "/apps/podinfo/rollback/7"):
        refused = client.post(path, headers=viewer, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "may not" in refused.text
    assert client.get("/apps/podinfo/sync", headers=viewer).status_code == 403
    assert not engine.initiators


def test_sync_preview_then_sync_records_the_caller(
    client: TestClient, engine: FakeViews, tokens: TokenRegistry
) -> None:
    deployer = token(tokens, "deployer")
    preview = client.get("/apps/broken/sync", headers=deployer)
    assert preview.status_code == 200
    assert "Deployment" in preview.text
    assert "update" in preview.text
    done = client.post(
        "/apps/broken/sync", data={"revision": "v2", "prune": "off"}, headers=deployer, follow_redirects=False
    )
    assert done.status_code == 303
    assert engine.calls[-1] == ("sync", {"name": "broken", "revision": "v2", "prune": False, "force": False})
    assert client.post("/apps/broken/sync", data={"revision": "-x"}, headers=deployer).status_code == 422


def test_the_diff_page_unified_and_side_by_side(client: TestClient) -> None:
    unified = client.get("/apps/broken/diff", headers=ADMIN)
    assert '<span class="del">-  replicas: 1</span>' in unified.text
    split = client.get("/apps/broken/diff?view=split", headers=ADMIN)
    assert '<td class="del"><pre>  replicas: 1</pre></td>' in split.text
    assert '<td class="add"><pre>  replicas: 2</pre></td>' in split.text
    assert client.get("/apps/broken/diff?view=other", headers=ADMIN).status_code == 400


def test_clusters_and_repositories_need_a_global_read(client: TestClient, tokens: TokenRegistry) -> None:
    assert "reachable" in client.get("/clusters", headers=ADMIN).text
    assert "git.example.com" in client.get("/repositories", headers=ADMIN).text
    team_b = token(tokens, "viewer", "team-b")
    assert client.get("/clusters", headers=team_b).status_code == 403


def test_the_json_list_pages_from_the_index(client: TestClient) -> None:
    answer = client.get("/api/v1/apps?limit=5&offset=5&sort=-name&cluster=prod", headers=ADMIN)
    assert answer.status_code == 200
    assert answer.headers["x-total-count"] == "33"  # podinfo, broken, rolling and 30 bulk apps
    assert [a["name"] for a in answer.json()][:2] == ["bulk-52", "bulk-50"]
    assert "sync" in answer.json()[0]  # the summary shape of GET /apps, unchanged
    everything = client.get("/api/v1/apps", headers=ADMIN)
    assert len(everything.json()) == 63
    assert "x-total-count" not in everything.headers


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_untrusted_strings_are_escaped_and_never_become_links(engine: FakeViews, client: TestClient) -> None:
    """docs/reliability.md, bad input 18: names, messages, paths and URLs from Git or the cluster are
    shown as text on every page, and a ``javascript:`` URL is never made a link."""
    app = engine.apps["broken"]
    app["health"]["message"] = HOSTILE
    app["path"] = HOSTILE
    app["repoURL"] = "javascript:alert(1)"
    app["conditions"][0]["message"] = HOSTILE
    app["resources"][0]["name"] = HOSTILE
    engine.reindex()
    for page in ("/apps", "/apps/broken", "/apps?search=%3Cscript%3E"):
        html = client.get(page, headers=ADMIN).text
        assert "<script>alert" not in html, page
        assert "<img src=x" not in html, page
        assert 'href="javascript:' not in html.lower(), page
    shown = client.get("/apps/broken", headers=ADMIN).text
    assert "&lt;script&gt;alert(" in shown  # shown, as text


def test_the_app_page_shows_the_current_reason_step_and_message(
    client: TestClient, engine: FakeViews
) -> None:
    message = "PreSync hook Job.batch/shop/migrate failed: BackoffLimitExceeded: Job has reached the limit"
    engine.apps["podinfo"].update(
        reason="HookFailed",
        statusMessage=message,
        step="hook",
        stepDetail="hook PreSync Job.batch/shop/migrate",
    )
    page = client.get("/apps/podinfo", headers=ADMIN).text
    assert "<dt>Reason</dt><dd>HookFailed" in page
    assert "hook PreSync Job.batch/shop/migrate" in page
    assert message in page
