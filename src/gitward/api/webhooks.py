"""``POST /api/v1/webhooks/{receiver}``: push notifications from Git hosts, turned into fetches.

The route needs no bearer token: each Receiver (``model.receiver``) names a shared secret (a file, or
a Secret with ``run --from-cluster``: ``EngineService.webhook_secret`` reads it) and the request
must prove it knows that secret, the way its host signs:

    github     X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
    gitlab     X-Gitlab-Token: <the secret itself>
    gitea      X-Forgejo-Signature or X-Gitea-Signature: <hex HMAC-SHA256 of the body>
    bitbucket  X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>   (Cloud and Server)
    generic    X-Gitward-Signature: sha256=<hex HMAC-SHA256 of the body>

Order of checks, each before the next costs anything: known receiver (404), readable secret (503),
credential header present (401), size from Content-Length and then while streaming, so a large body is
never held in memory (413), signature or token compared in constant time (401), then the JSON (400).
A valid request only asks the engine to fetch the repositories the payload names
(``EngineService.trigger_repository``), passing on what the push says it moved (``pushrefs``) so a
push the mirror already holds is not fetched again; nothing in a payload is applied. A delivery that
repeats one accepted in the last ten minutes (same delivery id, or same body naming the same commits:
``replay``) is answered 200 with ``"duplicate": true`` and does nothing; that check comes after the
signature, so a forged request cannot make a real one look like a replay. The answer is sent after
the trigger finished, or with 202 once ``answer_within`` seconds passed (the trigger goes on): hosts
give up on slow webhooks.

Deliberately not here: per-event filtering beyond pings (any event naming a repository is a reason
to look at it), and the secret's value anywhere in a response or a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gitward.api.pushrefs import pushed_refs
from gitward.api.replay import RecentDeliveries, delivery_keys
from gitward.core.repourl import repository_key
from gitward.reconcile.service import EngineService

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_URLS = 16
_MAX_URL_CHARS = 2048
_RECEIVER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class Rejected(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


# -- authentication -------------------------------------------------------------------------------


def _hmac_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _prefixed_hmac(header: str) -> Callable[[Mapping[str, str], bytes, bytes], bool]:
    def check(headers: Mapping[str, str], body: bytes, secret: bytes) -> bool:
        given = headers.get(header, "")
        return hmac.compare_digest(given.encode(), f"sha256={_hmac_hex(secret, body)}".encode())

    return check


def _gitea(headers: Mapping[str, str], body: bytes, secret: bytes) -> bool:
    given = headers.get("x-forgejo-signature") or headers.get("x-gitea-signature") or ""
    return hmac.compare_digest(given.encode(), _hmac_hex(secret, body).encode())


def _gitlab(headers: Mapping[str, str], body: bytes, secret: bytes) -> bool:
    # Header values arrive decoded as latin-1: encoding them back gives the bytes GitLab sent, so a
    # secret with non-ASCII bytes matches too (UTF-8 would double-encode it and refuse every delivery).
    try:
        given = headers.get("x-gitlab-token", "").encode("latin-1")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, secret)


_CHECKS: dict[str, Callable[[Mapping[str, str], bytes, bytes], bool]] = {
    "github": _prefixed_hmac("x-hub-signature-256"),
    "gitlab": _gitlab,
    "gitea": _gitea,
    "bitbucket": _prefixed_hmac("x-hub-signature"),
    "generic": _prefixed_hmac("x-gitward-signature"),
}
_CREDENTIAL_HEADERS: dict[str, tuple[str, ...]] = {
    "github": ("x-hub-signature-256",),
    "gitlab": ("x-gitlab-token",),
    "gitea": ("x-forgejo-signature", "x-gitea-signature"),
    "bitbucket": ("x-hub-signature",),
    "generic": ("x-gitward-signature",),
}


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = Rejected(413, "PayloadTooLarge", f"payload larger than {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        # ASCII digits only (``isdigit`` takes "²"), and never more than int() converts
        if not (declared.isascii() and declared.isdigit()):
            raise Rejected(400, "BadRequest", "invalid Content-Length")
        digits = declared.lstrip("0") or "0"
        if len(digits) > len(str(limit)) or int(digits) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


# -- payloads -------------------------------------------------------------------------------------


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)
        except ValueError:  # more fields than that
            raise Rejected(400, "BadRequest", "form payload has too many fields") from None
        body = (fields.get("payload") or [""])[0].encode()
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejected(400, "BadRequest", "payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "BadRequest", "payload is not a JSON object")
    return payload


def _get(node: Any, *path: str) -> Any:
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _hrefs(links: Any) -> Iterator[Any]:
    """Bitbucket ``links``: Cloud has ``{"html": {"href"}}``, Server ``{"clone": [{"href"}]}``."""
    if not isinstance(links, dict):
        return
    for value in links.values():
        for item in value if isinstance(value, list) else [value]:
            yield _get(item, "href")


def _candidates(kind: str, payload: dict[str, Any]) -> Iterator[Any]:
    repo = payload.get("repository")
    if kind in ("github", "gitea"):
        yield from (_get(repo, f) for f in ("clone_url", "html_url", "ssh_url", "git_url"))
    elif kind == "gitlab":
        for node, fields in (
            (payload.get("project"), ("git_http_url", "git_ssh_url", "web_url")),
            (repo, ("git_http_url", "git_ssh_url", "homepage", "url")),
        ):
            yield from (_get(node, f) for f in fields)
    elif kind == "bitbucket":
        yield from _hrefs(_get(repo, "links"))
        full_name = _get(repo, "full_name")
        if isinstance(full_name, str) and _get(repo, "type") == "repository":
            yield f"https://bitbucket.org/{full_name}"
    else:
        yield repo
        repositories = payload.get("repositories")
        yield from repositories if isinstance(repositories, list) else []


def repository_urls(kind: str, payload: dict[str, Any]) -> list[str]:
    """The repository URLs a payload names, one per repository (by ``repository_key``), capped."""
    seen: dict[str, str] = {}
    for url in _candidates(kind, payload):
        if isinstance(url, str) and 0 < len(url) <= _MAX_URL_CHARS:
            key = repository_key(url)
            if key and key not in seen:
                seen[key] = url
        if len(seen) >= MAX_URLS:
            break
    return list(seen.values())


def _is_ping(headers: Mapping[str, str]) -> bool:
    return headers.get("x-github-event") == "ping" or headers.get("x-event-key") == "diagnostics:ping"


# -- the route ------------------------------------------------------------------------------------


def _error(exc: Rejected) -> JSONResponse:
    return JSONResponse({"reason": exc.reason, "message": exc.message}, status_code=exc.status)


@dataclass(frozen=True)
class Delivery:
    """An authenticated request: its receiver, the receiver's type, raw body and parsed payload."""

    receiver: str
    kind: str
    body: bytes
    payload: dict[str, Any]  # {} for a ping


def build_webhook_router(
    service: EngineService,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    answer_within: float = 8.0,
    deliveries: RecentDeliveries | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
    running: set[asyncio.Task[list[str]]] = set()
    recent = deliveries if deliveries is not None else RecentDeliveries()

    async def authenticated(receiver_name: str, request: Request) -> Delivery:
        """The authenticated delivery; or ``Rejected``."""
        if not _RECEIVER_NAME.match(receiver_name):
            raise Rejected(404, "NotFound", "no such webhook receiver")
        receiver = service.webhook_receiver(receiver_name)
        if receiver is None:
            raise Rejected(404, "NotFound", "no such webhook receiver")
        kind = receiver.spec.type
        secret = await service.webhook_secret(receiver)
        if not secret:
            raise Rejected(503, "ReceiverUnavailable", "the receiver's secret is not available")
        unauthorized = Rejected(401, "Unauthorized", "missing or invalid webhook signature")
        if not any(request.headers.get(h) for h in _CREDENTIAL_HEADERS[kind]):
            raise unauthorized
        body = await _read_body(request, max_body_bytes)
        if not _CHECKS[kind](request.headers, body, secret):
            raise unauthorized
        payload = _parse(body, request.headers.get("content-type", ""))
        return Delivery(receiver_name, kind, body, {} if _is_ping(request.headers) else payload)

    async def trigger(urls: list[str], refs: dict[str, str]) -> list[str]:
        names: set[str] = set()
        for url in urls:
            names.update(await service.trigger_repository(url, refs=refs))
        return sorted(names)

    @router.post("/{receiver}", summary="Push notification from a Git host (signed; no bearer token)")
    async def receive(receiver: str, request: Request) -> JSONResponse:
        try:
            delivery = await authenticated(receiver, request)
        except Rejected as exc:
            return _error(exc)
        urls = repository_urls(delivery.kind, delivery.payload)
        refs = pushed_refs(delivery.kind, delivery.payload)
        keys = delivery_keys(
            delivery.receiver, delivery.kind, request.headers, delivery.body, names_commits=bool(refs)
        )
        if urls and recent.repeated(keys):
            return JSONResponse({"repositories": urls, "triggered": [], "duplicate": True})
        task = asyncio.ensure_future(trigger(urls, refs))
        running.add(task)
        task.add_done_callback(_finished(running))
        done, _ = await asyncio.wait({task}, timeout=answer_within)
        if not done:
            return JSONResponse({"repositories": urls, "triggered": None}, status_code=202)
        return JSONResponse({"repositories": urls, "triggered": task.result()})

    return router


def _finished(running: set[asyncio.Task[list[str]]]) -> Callable[[asyncio.Task[list[str]]], None]:
    def done(task: asyncio.Task[list[str]]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook trigger failed: %s", type(task.exception()).__name__)

    return done
