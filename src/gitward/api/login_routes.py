"""Signing in with OIDC: what the CLI needs to log in, who am I, and the web login of the UI.

    GET  /api/v1/auth/providers  open: each OIDCProvider's issuer, the CLI's client id and scopes, so
                                 ``gitward login`` needs nothing but the server's URL
    GET  /api/v1/whoami          the caller's name, groups and grants (no credential)
    GET  /auth/login             web login: redirect to the issuer (authorization code flow + PKCE)
    GET  /auth/callback          the issuer's redirect back: code exchanged, ID token verified (its
                                 nonce too), a session made; cookies ``gitward_session`` (HttpOnly)
                                 and ``gitward_csrf`` (read by the UI, sent back as X-Gitward-CSRF)
    POST /auth/logout            ends the session (a write: it needs the session's CSRF header)

A login in progress is remembered by its ``state`` for ten minutes, at most 1000 at once; ``next`` may
only be a path on this server, so the login cannot be used to redirect anyone elsewhere.

Deliberately not here: verifying tokens (``oidc.py``) and the UI's pages (issue 13).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Unauthenticated
from gitward.api.oidc import MAX_DOCUMENT_BYTES, OidcVerifier, check_http_url
from gitward.api.sessions import SESSION_COOKIE
from gitward.core.errors import GitwardError
from gitward.model.access import OIDCProvider

log = logging.getLogger(__name__)

CSRF_COOKIE = "gitward_csrf"
PENDING_SECONDS = 600.0
MAX_PENDING = 1000


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) of RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


@dataclass(frozen=True)
class _Pending:
    provider: OIDCProvider
    verifier: str
    nonce: str
    redirect_uri: str
    next_path: str
    started: float


def _exchange_blocking(url: str, form: dict[str, str], secret: str | None, client_id: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if secret is not None:
        pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(check_http_url(url), data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (checked above)
        answer = json.loads(response.read(MAX_DOCUMENT_BYTES))
    if not isinstance(answer, dict):
        raise ValueError("token endpoint answered no JSON object")
    return answer


def _local_path(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def build_login_router(access: Access) -> APIRouter:
    router = APIRouter(tags=["auth"])
    caller_of = Depends(access.caller)
    pending: dict[str, _Pending] = {}

    def verifier() -> OidcVerifier:
        if access.oidc is None:
            raise HTTPException(404, detail="no OIDCProvider is configured")
        return access.oidc

    def provider_named(name: str | None) -> OIDCProvider:
        providers = verifier().providers
        found = [p for p in providers if name in (None, p.name)]
        if len(found) != 1:
            names = ", ".join(p.name for p in providers)
            raise HTTPException(400, detail=f"name one provider with ?provider= (configured: {names})")
        return found[0]

    @router.get("/api/v1/auth/providers", summary="OIDC providers to log in with (open)")
    def providers() -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "issuer": p.spec.issuer,
                "clientID": p.spec.cli_client_id or p.spec.client_id,
                "scopes": list(p.spec.scopes),
            }
            for p in (access.oidc.providers if access.oidc else [])
        ]

    @router.get("/api/v1/whoami", summary="Who the caller is and what it may do")
    def whoami(caller: Principal = caller_of) -> dict[str, object]:
        return caller.to_dict()

    @router.get("/auth/login", summary="Web login through an OIDC provider")
    async def login(
        request: Request,
        provider: Annotated[str | None, Query(max_length=253)] = None,
        next_path: Annotated[str, Query(alias="next", max_length=2048)] = "/",
    ) -> RedirectResponse:
        chosen = provider_named(provider)
        metadata = await verifier().metadata(chosen.spec.issuer)
        now = time.monotonic()
        for key in [k for k, p in pending.items() if now - p.started > PENDING_SECONDS]:
            del pending[key]
        if len(pending) >= MAX_PENDING:
            raise HTTPException(503, detail="too many logins in progress; try again in a minute")
        code_verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        redirect_uri = str(request.url_for("auth_callback"))
        pending[state] = _Pending(chosen, code_verifier, nonce, redirect_uri, _local_path(next_path), now)
        query = {
            "response_type": "code",
            "client_id": chosen.spec.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(chosen.spec.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        target = f"{metadata['authorization_endpoint']}?{urllib.parse.urlencode(query)}"
        return RedirectResponse(target, status_code=302)

    @router.get("/auth/callback", name="auth_callback", summary="Where the OIDC provider sends the user back")
    async def callback(
        request: Request,
        state: Annotated[str, Query(max_length=256)],
        code: Annotated[str, Query(max_length=4096)],
    ) -> RedirectResponse:
        login = pending.pop(state, None)
        if login is None or time.monotonic() - login.started > PENDING_SECONDS:
            raise Unauthenticated("unknown or expired login; start again at /auth/login")
        secret = await _client_secret(access, login.provider)
        principal = await _finish(verifier(), login, code, secret)
        session = access.sessions.create(principal)
        secure = request.url.scheme == "https"
        answer = RedirectResponse(login.next_path, status_code=303)
        answer.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="lax", secure=secure)
        answer.set_cookie(CSRF_COOKIE, session.csrf, httponly=False, samesite="lax", secure=secure)
        return answer

    @router.post("/auth/logout", summary="End the login session (with its X-Gitward-CSRF header)")
    async def logout(request: Request) -> Response:
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id and access.sessions.get(session_id) is not None:
            await access.authenticate(request)  # the CSRF header: another site cannot sign anyone out
            access.sessions.drop(session_id)
        answer = Response(status_code=204)
        answer.delete_cookie(SESSION_COOKIE)
        answer.delete_cookie(CSRF_COOKIE)
        return answer

    return router


async def _client_secret(access: Access, provider: OIDCProvider) -> str | None:
    """The provider's client secret as it is now; one that cannot be read is a 503 naming where it
    was looked for (the Secret or the file), never a value."""
    try:
        return await access.client_secret(provider)
    except GitwardError as exc:
        log.warning("web login through %s: %s", provider.name, exc.message)
        raise HTTPException(503, detail=f"the login cannot finish: {exc.message}") from None


async def _finish(oidc: OidcVerifier, login: _Pending, code: str, secret: str | None) -> Principal:
    """Exchange the code (with the PKCE verifier and the client secret), then verify the ID token
    and its nonce."""
    spec = login.provider.spec
    metadata = await oidc.metadata(spec.issuer)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": login.redirect_uri,
        "code_verifier": login.verifier,
        "client_id": spec.client_id,
    }
    try:
        tokens = await asyncio.to_thread(
            _exchange_blocking,
            str(metadata["token_endpoint"]),
            form,
            secret,
            spec.client_id,
        )
    except (OSError, ValueError) as exc:
        raise Unauthenticated(f"the provider refused the login code ({type(exc).__name__})") from None
    id_token = str(tokens.get("id_token", ""))
    principal = await oidc.verify(id_token)
    if not hmac.compare_digest(str(_unverified_claims(id_token).get("nonce", "")), login.nonce):
        raise Unauthenticated("the ID token does not answer this login (nonce mismatch)")
    return principal


def _unverified_claims(id_token: str) -> dict[str, Any]:
    """Claims of a token ``OidcVerifier.verify`` has just checked (so reading them is safe)."""
    payload = id_token.split(".")[1]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data if isinstance(data, dict) else {}
