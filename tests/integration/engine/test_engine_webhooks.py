"""Push notifications against the real engine, cluster and Git server, and the metrics they move.

Two apps share one repository (different paths), a third lives in another repository. A signed
webhook for a commit that touches one path makes exactly one fetch, re-renders exactly that app, and
leaves the other two alone (their last reconciled commit stays the old one). A replayed delivery does
nothing at all; an app whose revision does not exist is not queued again by every webhook.
``/metrics`` is read through the real API app, in the same event loop as the engine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from devtools.gitservers import FileGitServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import TypeAdapter
from tests.integration.engine.harness import Harness, application, configmap

from gitward.api import create_app
from gitward.api.models import AppSummary
from gitward.reconcile.engine import Engine
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.settings import EngineSettings

pytestmark = pytest.mark.integration

SECRET = "push-secret-0123456789abcdef"
TOKEN = "integration-token-0123456789"


def _receiver(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Receiver",
        "metadata": {"name": name},
        # relative: resolved against the config folder
        "spec": {"type": "generic", "secretFile": "push.secret"},
    }


async def _start(harness: Harness) -> Engine:
    # A fetch stays fresh for a minute, so a reconcile a push queued reuses the push's fetch.
    settings = EngineSettings(config_path=harness.config_dir, state_path=harness.state, fetch_freshness=60.0)
    harness.engine = await Engine.start(settings)
    return harness.engine


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """The real API app over the harness's engine (started by the test before the first request)."""

    class Late:
        def __getattr__(self, name: str) -> Any:
            return getattr(harness.engine, name)

    transport = httpx.ASGITransport(app=create_app(Late(), token=TOKEN))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gitward") as client:
        yield client


async def _push_hook(
    api: httpx.AsyncClient, receiver: str, repo_url: str, *, delivery: str | None = None
) -> httpx.Response:
    body = json.dumps({"repository": repo_url}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Gitward-Signature": f"sha256={signature}", "Content-Type": "application/json"}
    if delivery is not None:
        headers["X-Gitward-Delivery"] = delivery
    return await api.post(f"/api/v1/webhooks/{receiver}", content=body, headers=headers)


async def test_push_fetches_once_and_rerenders_only_the_app_whose_path_changed(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, api: httpx.AsyncClient
) -> None:
    suffix = uuid4().hex[:6]
    app_a, app_b, app_c = f"push-a-{suffix}", f"push-b-{suffix}", f"push-c-{suffix}"
    shared = git_server.create_repo(
        f"shared-{suffix}",
        {"a/cm.yaml": configmap(app_a, {"v": "1"}), "b/cm.yaml": configmap(app_b, {"v": "1"})},
    )
    git_server.create_repo(f"other-{suffix}", {"c/cm.yaml": configmap(app_c, {"v": "1"})})
    shared_url, other_url = git_server.url(f"shared-{suffix}"), git_server.url(f"other-{suffix}")
    receiver = f"hook-{suffix}"
    (harness.config_dir / "push.secret").write_text(SECRET + "\n")
    harness.configure(
        application(app_a, repo=shared_url, path="a", namespace=f"{namespace}-a"),
        application(app_b, repo=shared_url, path="b", namespace=f"{namespace}-b"),
        application(app_c, repo=other_url, path="c", namespace=f"{namespace}-c"),
        _receiver(receiver),
    )
    engine = await _start(harness)
    for app in (app_a, app_b, app_c):
        await harness.until(lambda app=app: harness.is_synced_healthy(app))
    await harness.settle()
    first_commit = shared.head()
    commit_c = harness.app(app_c)["sync"]["revision"]

    shared.commit({"a/cm.yaml": configmap(app_a, {"v": "2"})}, message="a only")
    shared.push()
    fetches, misses = engine.fetcher.git.fetch_count, engine.fetcher.render_cache.misses

    response = await _push_hook(api, receiver, shared_url)
    assert response.status_code == 200, response.text
    assert response.json()["triggered"] == [app_a]
    await harness.until(
        lambda: kube_cluster.get_json("configmap", app_a, "-n", f"{namespace}-a")["data"] == {"v": "2"}
    )
    await harness.settle()

    assert engine.fetcher.git.fetch_count - fetches == 1
    assert engine.fetcher.render_cache.misses - misses == 1
    assert harness.app(app_a)["sync"]["revision"] == shared.head()
    # b shares the repository but its path did not change: not reconciled, still at the old commit
    assert harness.app(app_b)["sync"]["revision"] == first_commit
    assert harness.app(app_c)["sync"]["revision"] == commit_c
    assert kube_cluster.get_json("configmap", app_b, "-n", f"{namespace}-b")["data"] == {"v": "1"}

    # A push that changed nothing any app reads triggers nothing, whatever the URL's spelling.
    shared.commit({"README.md": "docs\n"}, message="docs only")
    shared.push()
    fetches = engine.fetcher.git.fetch_count
    respelled = shared_url.removesuffix(".git") + "/"  # file:///…/shared-x/ names the same repository
    assert await engine.trigger_repository(respelled) == []
    assert engine.fetcher.git.fetch_count - fetches == 1
    assert engine.queue.depth() == 0

    # Forged deliveries are refused and the receiver keeps working afterwards.
    body = json.dumps({"repository": shared_url}).encode()
    forged = await api.post(
        f"/api/v1/webhooks/{receiver}", content=body, headers={"X-Gitward-Signature": "sha256=" + "0" * 64}
    )
    assert forged.status_code == 401
    assert SECRET not in forged.text
    assert (await _push_hook(api, receiver, other_url)).json()["triggered"] == []


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def _scrape(api: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return _samples(response.text)


async def test_metrics_expose_reconciles_syncs_prunes_drift_fetches_renders_and_requests(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, api: httpx.AsyncClient
) -> None:
    app = f"metrics-{uuid4().hex[:6]}"
    repo = git_server.create_repo(
        app,
        {"app/one.yaml": configmap(f"{app}-one", {"v": "1"}), "app/two.yaml": configmap(f"{app}-two", {})},
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    before = await _scrape(api)
    engine = await _start(harness)
    await harness.until(lambda: harness.is_synced_healthy(app))

    repo.commit({"app/two.yaml": None}, message="drop two")
    repo.push()
    await engine.refresh_app(app)
    await harness.until(lambda: harness.is_synced_healthy(app))
    body = json.dumps({"data": {"v": "intruded"}})
    kube_cluster.kubectl(
        "patch", "configmap", f"{app}-one", "-n", namespace, "--type=merge", "-p", body, "--field-manager=x"
    )
    await harness.until(
        lambda: kube_cluster.get_json("configmap", f"{app}-one", "-n", namespace)["data"] == {"v": "1"}
    )
    await harness.settle()
    after = await _scrape(api)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        assert key in after, f"{name}{labels} not exposed"
        return after[key] - before.get(key, 0.0)

    assert grew("gitward_reconcile_duration_seconds_count", result="synced") >= 2
    assert grew("gitward_syncs_total", result="succeeded") >= 2
    assert grew("gitward_prunes_total") >= 1
    assert grew("gitward_drift_events_total") >= 1
    assert grew("gitward_git_fetch_duration_seconds_count", result="ok") >= 2
    assert grew("gitward_render_duration_seconds_count", cache="miss") >= 2
    assert grew("gitward_render_cache_misses_total") >= 2
    assert grew("gitward_queue_wait_seconds_count", priority="interval") >= 1
    assert grew("gitward_queue_wait_seconds_count", priority="drift") >= 1
    assert ("gitward_queue_depth", ()) in after
    assert after[("gitward_apps", (("health", "Healthy"), ("sync", "Synced")))] >= 1
    applies = [
        value
        for (name, labels), value in after.items()
        if name == "gitward_kube_requests_total"
        and dict(labels).get("cluster") == "local"
        and dict(labels).get("verb") == "apply"
        and dict(labels).get("code", "").startswith("2")
    ]
    assert sum(applies) >= 3  # two objects created, one healed


async def test_app_reads_served_without_validation_match_their_response_model(
    harness: Harness, git_server: FileGitServer, namespace: str, api: httpx.AsyncClient
) -> None:
    """``GET /apps`` and ``/apps/{name}`` skip FastAPI's validation for speed: what they send must be
    exactly what the documented model would have produced, for a synced, a failing and an invalid app."""
    good, broken = f"shape-ok-{uuid4().hex[:6]}", f"shape-bad-{uuid4().hex[:6]}"
    git_server.create_repo(good, {"app/cm.yaml": configmap(good, {"v": "1"})})
    invalid = application("shape-invalid", repo=git_server.url(good), path="app", namespace=namespace)
    invalid["spec"]["syncPolicy"]["interval"] = "often"
    harness.configure(
        application(good, repo=git_server.url(good), path="app", namespace=namespace),
        application(broken, repo=git_server.url(good), path="missing", namespace=namespace),
        invalid,
    )
    await _start(harness)
    await harness.until(lambda: harness.is_synced_healthy(good))
    await harness.until(lambda: "does not exist" in harness.app(broken)["message"])
    headers = {"Authorization": f"Bearer {TOKEN}"}

    listing = (await api.get("/api/v1/apps", headers=headers)).json()
    assert {a["name"] for a in listing} == {good, broken, "shape-invalid"}
    model = TypeAdapter(list[AppSummary])
    assert model.dump_python(model.validate_python(listing), mode="json") == listing
    one = (await api.get(f"/api/v1/apps/{good}", headers=headers)).json()
    assert AppSummary.model_validate(one).model_dump(mode="json") == one
    assert one["sync"]["status"] == "Synced"


def _fetches(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    """Real Git fetches so far, whatever their result."""
    return sum(v for (name, _), v in samples.items() if name == "gitward_git_fetches_total")


async def test_a_replayed_delivery_does_nothing(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, api: httpx.AsyncClient
) -> None:
    app = f"replay-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/cm.yaml": configmap(app, {"v": "1"})})
    url, receiver = git_server.url(app), f"hook-{app}"
    (harness.config_dir / "push.secret").write_text(SECRET + "\n")
    harness.configure(application(app, repo=url, path="app", namespace=namespace), _receiver(receiver))
    await _start(harness)
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()

    pushed = repo.commit({"app/cm.yaml": configmap(app, {"v": "2"})}, message="v2")
    before = _fetches(await _scrape(api))
    first = await _push_hook(api, receiver, url, delivery="delivery-1")
    assert first.json() == {"repositories": [url], "triggered": [app]}
    assert _fetches(await _scrape(api)) - before == 1
    await harness.until(lambda: harness.app(app)["sync"]["revision"] == pushed)
    await harness.settle()

    unannounced = repo.commit({"app/cm.yaml": configmap(app, {"v": "3"})}, message="v3, no webhook yet")
    before = _fetches(await _scrape(api))
    replayed = await _push_hook(api, receiver, url, delivery="delivery-1")
    assert replayed.status_code == 200
    assert replayed.json() == {"repositories": [url], "triggered": [], "duplicate": True}
    await harness.settle()
    assert _fetches(await _scrape(api)) == before  # no fetch, so the unannounced commit stays unseen
    assert harness.app(app)["sync"]["revision"] == pushed
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"] == {"v": "2"}

    fresh = await _push_hook(api, receiver, url, delivery="delivery-2")
    assert fresh.json()["triggered"] == [app]
    await harness.until(lambda: harness.app(app)["sync"]["revision"] == unannounced)


async def test_an_app_whose_revision_does_not_exist_is_not_queued_by_every_webhook(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, api: httpx.AsyncClient
) -> None:
    suffix = uuid4().hex[:6]
    good, missing = f"rev-ok-{suffix}", f"rev-missing-{suffix}"
    repo = git_server.create_repo(
        f"revs-{suffix}", {"a/cm.yaml": configmap(good, {"n": "0"}), "b/cm.yaml": configmap(missing, {})}
    )
    url, receiver = git_server.url(f"revs-{suffix}"), f"hook-{suffix}"
    (harness.config_dir / "push.secret").write_text(SECRET + "\n")
    harness.configure(
        application(good, repo=url, path="a", namespace=namespace),
        application(missing, repo=url, path="b", namespace=namespace, source={"revision": "no-such-branch"}),
        _receiver(receiver),
    )
    engine = await _start(harness)
    await harness.until(lambda: harness.is_synced_healthy(good))
    await harness.until(lambda: "no-such-branch" in harness.app(missing)["message"])

    pushed_by: dict[str, list[str]] = {good: [], missing: []}
    reconcile = engine.reconcile

    async def counted(rt: AppRuntime, req: SyncRequest) -> int | None:
        if "webhook" in req.trigger.split(","):
            pushed_by[rt.name].append(req.trigger)
        return await reconcile(rt, req)

    engine.reconcile = counted  # type: ignore[method-assign]
    webhooks = 12
    for n in range(1, webhooks + 1):
        repo.commit({"a/cm.yaml": configmap(good, {"n": str(n)})}, message=f"a {n}")
        response = await _push_hook(api, receiver, url, delivery=f"d-{suffix}-{n}")
        assert missing not in response.json()["triggered"]
        await harness.until(lambda n=n: harness.app(good)["sync"]["revision"] == repo.head())
    assert kube_cluster.get_json("configmap", good, "-n", namespace)["data"] == {"n": str(webhooks)}
    # Its last pass failed on this very revision: no webhook queues it again, its retries go on.
    assert pushed_by[missing] == []
    assert "no-such-branch" in harness.app(missing)["message"]

    created = repo.commit({"b/cm.yaml": configmap(missing, {"made": "yes"})}, branch="no-such-branch")
    response = await _push_hook(api, receiver, url, delivery=f"d-{suffix}-branch")
    assert response.json()["triggered"] == [missing]
    await harness.until(lambda: harness.app(missing)["sync"]["revision"] == created)
    await harness.until(lambda: harness.is_synced_healthy(missing))
