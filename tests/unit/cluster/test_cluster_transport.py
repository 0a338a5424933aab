"""Request policy over an in-memory HTTP transport: retries with backoff, Retry-After, counts, errors.

The real API server cannot be made to answer 429 or 503 on demand, so these answers are scripted;
the integration tests prove the same client against a real cluster.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from gitward.cluster.failures import RetryPolicy
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.cluster.ratelimit import RateLimit, TokenBucket
from gitward.cluster.senders import HttpxSender
from gitward.cluster.transport import ApiTransport
from gitward.core.errors import ClusterError

Handler = Callable[[httpx.Request], httpx.Response]


def _transport(handler: Handler, slept: list[float], attempts: int = 4) -> ApiTransport:
    http = httpx.AsyncClient(base_url="https://kube.test", transport=httpx.MockTransport(handler))

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return ApiTransport(
        HttpxSender(http),
        bucket=TokenBucket(RateLimit(qps=0)),
        retry=RetryPolicy(attempts=attempts),
        sleep=sleep,
    )


def _scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


async def test_429_is_retried_after_the_servers_hint() -> None:
    handler, seen = _scripted(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "slow down"}),
        httpx.Response(200, json={"ok": True}),
    )
    slept: list[float] = []
    transport = _transport(handler, slept)
    status, body = await transport.request("get", "GET", "/api/v1/x", what="get x")
    assert status == 200
    assert orjson.loads(body) == {"ok": True}
    assert slept == [2.0]
    assert len(seen) == 2
    assert transport.counts()["get"] == 2  # every request sent is counted, retries included


async def test_persistent_5xx_raises_after_the_attempts_with_the_api_message() -> None:
    handler, seen = _scripted(httpx.Response(503, json={"kind": "Status", "message": "etcd unavailable"}))
    slept: list[float] = []
    transport = _transport(handler, slept, attempts=3)
    with pytest.raises(ClusterError) as info:
        await transport.request("list", "GET", "/api/v1/pods", what="list Pod")
    assert info.value.status == 503
    assert str(info.value) == "list Pod: HTTP 503: etcd unavailable"
    assert len(seen) == 3
    assert slept == pytest.approx([0.2, 0.4])


async def test_connection_errors_are_retried_then_reported_as_status_0() -> None:
    handler, seen = _scripted(httpx.ConnectError("connection refused"))
    slept: list[float] = []
    transport = _transport(handler, slept, attempts=2)
    with pytest.raises(ClusterError) as info:
        await transport.request("get", "GET", "/version", what="server version")
    assert info.value.status == 0
    assert "unreachable" in str(info.value)
    assert len(seen) == 2


async def test_connection_blip_then_success() -> None:
    handler, _ = _scripted(httpx.ReadError("reset"), httpx.Response(200, json={}))
    transport = _transport(handler, [])
    status, _ = await transport.request("get", "GET", "/x", what="x")
    assert status == 200


async def test_client_errors_are_not_retried() -> None:
    handler, seen = _scripted(httpx.Response(422, json={"message": "bad field", "reason": "Invalid"}))
    transport = _transport(handler, [])
    with pytest.raises(ClusterError) as info:
        await transport.request("apply", "PATCH", "/x", what="apply x")
    assert info.value.status == 422
    assert info.value.reason == "Invalid"
    assert len(seen) == 1


async def test_404_is_returned_only_when_allowed() -> None:
    handler, _ = _scripted(httpx.Response(404, json={"message": "not found", "reason": "NotFound"}))
    transport = _transport(handler, [])
    status, _ = await transport.request("get", "GET", "/x", what="x", not_found_ok=True)
    assert status == 404
    with pytest.raises(ClusterError) as info:
        await transport.request("get", "GET", "/x", what="x")
    assert info.value.status == 404


_CORE_DISCOVERY = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {"name": ""},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "configmaps",
                            "responseKind": {"kind": "ConfigMap"},
                            "scope": "Namespaced",
                            "verbs": ["get", "patch"],
                        }
                    ],
                }
            ],
        }
    ],
}


def _fake_api(crd_served: list[bool], seen: list[str]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/api":
            return httpx.Response(200, json=_CORE_DISCOVERY)
        if path == "/apis":
            return httpx.Response(200, json={"kind": "APIGroupDiscoveryList", "items": []})
        if path == "/apis/example.com/v1":
            if not crd_served[0]:
                return httpx.Response(404, json={"message": "not found"})
            resources = [{"name": "widgets", "kind": "Widget", "namespaced": False, "verbs": ["get"]}]
            return httpx.Response(200, json={"groupVersion": "example.com/v1", "resources": resources})
        if path.startswith("/api/v1/namespaces/ns1/configmaps/"):
            if request.method == "PATCH":
                return httpx.Response(200, content=request.content)
            return httpx.Response(404, json={"message": "gone"})
        return httpx.Response(500, json={"message": f"unexpected {path}"})

    return handler


async def test_discovery_refreshes_only_the_missing_group_version() -> None:
    crd_served = [False]
    seen: list[str] = []
    client = LightkubeClient(_transport(_fake_api(crd_served, seen), []))
    res = await client.resource_for("v1", "ConfigMap")
    assert (res.plural, res.namespaced) == ("configmaps", True)
    with pytest.raises(ClusterError) as info:
        await client.resource_for("example.com/v1", "Widget")
    assert info.value.status == 404
    crd_served[0] = True  # the CRD gets created
    widget = await client.resource_for("example.com/v1", "Widget")
    assert (widget.plural, widget.namespaced) == ("widgets", False)
    assert seen.count("GET /api") == 1  # full discovery once; misses fetch one group-version
    assert client.request_counts()["discovery"] == len(seen)


async def test_apply_sends_server_side_apply_with_manager_force_and_dry_run() -> None:
    captured: list[httpx.Request] = []
    inner = _fake_api([False], [])

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return inner(request)

    client = LightkubeClient(_transport(handler, []))
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns1"},
        "data": {"a": "1"},
    }
    out = await client.apply(cm, field_manager="gitward", force=True, dry_run=True)
    assert out == cm
    patch = captured[-1]
    assert patch.method == "PATCH"
    assert patch.url.path == "/api/v1/namespaces/ns1/configmaps/c"
    assert patch.headers["Content-Type"] == "application/apply-patch+yaml"
    assert dict(patch.url.params) == {"fieldManager": "gitward", "force": "true", "dryRun": "All"}
    assert client.request_counts()["dryrun"] == 1
    assert client.request_counts()["apply"] == 0
    assert await client.get("v1", "ConfigMap", "ns1", "missing") is None


@pytest.mark.parametrize("name", ["..", "a/b", "x%2Fy", ""])
async def test_names_that_would_change_the_url_are_refused(name: str) -> None:
    client = LightkubeClient(_transport(_fake_api([False], []), []))
    with pytest.raises(ClusterError) as info:
        await client.get("v1", "ConfigMap", "ns1", name)
    assert info.value.status == 400


async def test_watch_start_is_retried_then_yields_lines() -> None:
    handler, seen = _scripted(
        httpx.Response(503, json={"message": "starting"}),
        httpx.Response(200, content=b'{"type":"ADDED"}\n{"type":"BOOKMARK"}\n'),
    )
    slept: list[float] = []
    transport = _transport(handler, slept)
    async with transport.stream(
        "watch", "/api/v1/pods", what="watch Pod", params={}, read_timeout=5
    ) as lines:
        assert [line async for line in lines] == [b'{"type":"ADDED"}', b'{"type":"BOOKMARK"}']
    assert len(seen) == 2
    assert slept == pytest.approx([0.2])
    assert transport.answer_counts() == {("watch", "503"): 1, ("watch", "200"): 1}
