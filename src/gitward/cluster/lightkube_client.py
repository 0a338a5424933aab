"""The real ``KubeClient``: plain-dict requests to one API server.

lightkube reads the kubeconfig (``cluster.kubeconfig``); requests go out through one pooled
connection set per cluster (``cluster.senders``: aiohttp, one pool for requests and one for watch
streams), wrapped by ``cluster.transport`` (rate limit, retries, counts, errors). Objects
stay plain dicts end to end: no model classes are built for them, which keeps large lists and watch
streams cheap and lets custom resources flow through exactly like built-in kinds.

Server-side apply sends the manifest as JSON with ``application/apply-patch+yaml`` (JSON is YAML),
with ``fieldManager``, ``force``, ``dryRun=All`` and ``fieldValidation``. ``create`` (POST, for hooks
and re-creations) and ``replace`` (PUT, for ``Replace=true``) count as the verbs ``create`` and
``update``. Namespaced objects without a namespace go to the
kubeconfig context's namespace, as kubectl does.

Deliberately not here: caching (``cluster.cache``), retries of whole operations (the control
loop's), and anything that builds manifests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from gitward.cluster.client import ApiResource, WatchEvent, WriteObserver
from gitward.cluster.discovery import Discovery, gv_path
from gitward.cluster.failures import RetryPolicy, secret_values
from gitward.cluster.kubeconfig import load_endpoint
from gitward.cluster.ratelimit import RateLimit, TokenBucket
from gitward.cluster.senders import USER_AGENT, AiohttpSender
from gitward.cluster.transport import ApiTransport, WriteFence, json_body
from gitward.core.errors import ClusterError

_APPLY_TYPE = "application/apply-patch+yaml"
_PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
_PAGE_SIZE = 500


def _safe_segment(value: str, what: str) -> str:
    """Names end up in the URL path, so one that could change the path is refused outright."""
    if not value or "/" in value or value in (".", "..") or "%" in value or "?" in value or "#" in value:
        raise ClusterError(f"invalid {what} {value!r}", status=400, reason="Invalid")
    return value


def _describe(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _write_params(field_manager: str, *, dry_run: bool, field_validation: str | None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"fieldManager": field_manager}
    if dry_run:
        params["dryRun"] = "All"
    if field_validation:
        params["fieldValidation"] = field_validation
    return params


class LightkubeClient:
    """``KubeClient`` over a kubeconfig context. Create with ``await LightkubeClient.from_kubeconfig``."""

    def __init__(
        self,
        transport: ApiTransport,
        *,
        default_namespace: str = "default",
        discovery_max_age: float = 30.0,
    ) -> None:
        self._transport = transport
        self._default_namespace = default_namespace
        self._server_version: str | None = None
        self.discovery = Discovery(transport, max_age=discovery_max_age)
        self._observer: WriteObserver | None = None

    def observe_writes(self, observer: WriteObserver) -> None:
        """Hand every answer to an object write (apply, create, replace) to ``observer``."""
        self._observer = observer

    async def _written(self, dry_run: bool, send: Callable[[], Awaitable[bytes]]) -> dict[str, Any]:
        """Send a write and decode its answer, telling the observer when it is a real one."""
        if dry_run or self._observer is None:
            answer: dict[str, Any] = orjson.loads(await send())
            return answer
        with self._observer.writing() as note:
            answer = orjson.loads(await send())
            note(answer)
            return answer

    @classmethod
    async def from_kubeconfig(
        cls,
        path: Path | str,
        context: str | None = None,
        *,
        qps: float = 50.0,
        burst: int = 100,
        retry: RetryPolicy | None = None,
        request_timeout: float = 30.0,
        max_connections: int = 64,
        write_fence: WriteFence | None = None,
        user_agent: str = USER_AGENT,
    ) -> LightkubeClient:
        """A client for ``context`` (default: current) of the kubeconfig at ``path``.

        Raises ``KubeconfigError`` for unusable files and for exec/auth-provider credential plugins.
        """
        endpoint = await asyncio.to_thread(load_endpoint, path, context)
        sender = AiohttpSender(
            endpoint.server,
            ssl_context=endpoint.ssl_context,
            auth=endpoint.auth,
            timeout=request_timeout,
            max_connections=max_connections,
            user_agent=user_agent,
        )
        bucket = TokenBucket(RateLimit(qps=qps, burst=burst))
        transport = ApiTransport(sender, bucket=bucket, retry=retry, fence=write_fence)
        return cls(transport, default_namespace=endpoint.namespace)

    # -- discovery ---------------------------------------------------------------------------

    async def server_version(self) -> str:
        """Asked once per client: a version change means a restarted server, which a new connection sees."""
        if self._server_version is None:
            _, body = await self._transport.request("discovery", "GET", "/version", what="server version")
            self._server_version = str(orjson.loads(body).get("gitVersion", ""))
        return self._server_version

    async def api_versions(self) -> list[str]:
        return await self.discovery.api_versions()

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        return await self.discovery.resource_for(api_version, kind)

    async def _path(self, res: ApiResource, namespace: str | None, name: str | None = None) -> str:
        path = gv_path(res.api_version)
        if res.namespaced and namespace is not None:
            path += f"/namespaces/{_safe_segment(namespace or self._default_namespace, 'namespace')}"
        path += f"/{res.plural}"
        if name is not None:
            path += f"/{_safe_segment(name, 'name')}"
        return path

    # -- reads -------------------------------------------------------------------------------

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace, name)
        status, body = await self._transport.request(
            "get", "GET", path, what=f"get {_describe(kind, namespace, name)}", not_found_ok=True
        )
        if status == 404:
            return None
        obj: dict[str, Any] = orjson.loads(body)
        return obj

    async def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace)
        params: dict[str, str | int] = {"limit": _PAGE_SIZE}
        if label_selector:
            params["labelSelector"] = label_selector
        items: list[dict[str, Any]] = []
        resource_version = ""
        while True:
            _, body = await self._transport.request("list", "GET", path, what=f"list {kind}", params=params)
            page = orjson.loads(body)
            for item in page.get("items") or []:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = page.get("metadata") or {}
            resource_version = str(meta.get("resourceVersion") or resource_version)
            token = meta.get("continue")
            if not token:
                return items, resource_version
            params["continue"] = str(token)

    async def watch(
        self,
        api_version: str,
        kind: str,
        *,
        resource_version: str,
        timeout_seconds: int = 300,
        namespace: str | None = None,
    ) -> AsyncIterator[WatchEvent]:
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace)
        params: dict[str, str | int] = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        if resource_version:
            params["resourceVersion"] = resource_version
        what = f"watch {kind}"
        async with self._transport.stream(
            "watch", path, what=what, params=params, read_timeout=timeout_seconds + 30.0
        ) as lines:
            async for line in lines:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    code = int(obj.get("code") or 0)
                    message = str(obj.get("message") or "watch error")
                    raise ClusterError(f"{what}: {message}", status=code, reason=obj.get("reason") or None)
                obj.setdefault("apiVersion", api_version)
                obj.setdefault("kind", kind)
                yield WatchEvent(type=str(event.get("type", "")), object=obj)

    # -- writes ------------------------------------------------------------------------------

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = str(meta.get("namespace") or "")
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace, name)
        params = _write_params(field_manager, dry_run=dry_run, field_validation=field_validation)
        if force:
            params["force"] = "true"
        verb = "dryrun" if dry_run else "apply"

        async def send() -> bytes:
            _, body = await self._transport.request(
                verb,
                "PATCH",
                path,
                what=f"{'dry-run ' if dry_run else ''}apply {_describe(kind, namespace, name)}",
                params=params,
                content=json_body(obj),
                headers={"Content-Type": _APPLY_TYPE},
                secrets=secret_values(obj),
            )
            return body

        return await self._written(dry_run, send)

    async def create(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """POST ``obj`` (a ``generateName`` is named by the server)."""
        return await self._write_whole(
            obj, create=True, field_manager=field_manager, dry_run=dry_run, field_validation=field_validation
        )

    async def replace(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """PUT ``obj`` over the object of its name (its resourceVersion, if given, is the precondition)."""
        return await self._write_whole(
            obj, create=False, field_manager=field_manager, dry_run=dry_run, field_validation=field_validation
        )

    async def _write_whole(
        self,
        obj: Mapping[str, Any],
        *,
        create: bool,
        field_manager: str,
        dry_run: bool,
        field_validation: str | None,
    ) -> dict[str, Any]:
        """One whole-object write, POST (create) or PUT (replace); counted as create or update."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        name = str(meta.get("name") or (meta.get("generateName") if create else "") or "")
        res = await self.resource_for(api_version, kind)
        path = await (self._path(res, namespace) if create else self._path(res, namespace, name))
        verb = "create" if create else "replace"

        async def send() -> bytes:
            _, body = await self._transport.request(
                "dryrun" if dry_run else ("create" if create else "update"),
                "POST" if create else "PUT",
                path,
                what=f"{'dry-run ' if dry_run else ''}{verb} {_describe(kind, namespace, name)}",
                params=_write_params(field_manager, dry_run=dry_run, field_validation=field_validation),
                content=json_body(obj),
                headers={"Content-Type": "application/json"},
                secrets=secret_values(obj),
            )
            return body

        return await self._written(dry_run, send)

    async def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """A merge, JSON or strategic patch (e.g. removing a mark); ``subresource`` such as ``status``."""
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace, name)
        if subresource:
            path += f"/{_safe_segment(subresource, 'subresource')}"
        params: dict[str, str | int] = {"fieldManager": field_manager} if field_manager else {}
        _, body = await self._transport.request(
            "other",
            "PATCH",
            path,
            what=f"patch {_describe(kind, namespace, name)}",
            params=params,
            content=json_body(patch),
            headers={"Content-Type": _PATCH_TYPES[patch_type]},
        )
        result: dict[str, Any] = orjson.loads(body)
        return result

    async def delete(
        self, api_version: str, kind: str, namespace: str, name: str, *, propagation: str = "Background"
    ) -> bool:
        res = await self.resource_for(api_version, kind)
        path = await self._path(res, namespace, name)
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        status, _ = await self._transport.request(
            "delete",
            "DELETE",
            path,
            what=f"delete {_describe(kind, namespace, name)}",
            content=json_body(options),
            headers={"Content-Type": "application/json"},
            not_found_ok=True,
        )
        return status != 404

    # -- bookkeeping -------------------------------------------------------------------------

    def request_counts(self) -> Mapping[str, int]:
        return self._transport.counts()

    def answer_counts(self) -> Mapping[tuple[str, str], int]:
        """Requests by (verb, HTTP status code or ``"error"``), for metrics."""
        return self._transport.answer_counts()

    async def close(self) -> None:
        await self._transport.aclose()
