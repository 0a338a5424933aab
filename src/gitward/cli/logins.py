"""Logins ``gitward login`` keeps: one OIDC login per server URL, refreshed when its ID token expires.

``logins.json`` in the user's state directory (mode 0600, folder 0700, written atomically) maps a
server URL to what the CLI needs to call it and to renew the login: the ID token, the refresh token,
when the ID token expires, and the issuer's token endpoint and client id. Each login is used for its
own server only, so a token never goes to another server by accident.

An ID token that expires within a minute is renewed with the refresh token at the issuer before the
request (``grant_type=refresh_token``); a refresh the issuer refuses ends the login with one line
saying to run ``gitward login`` again.

Deliberately not here: the login itself (``login.py``) and any token in an output or message.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitward.cli.client import CliError, tls_context
from gitward.core.localserver import user_state_dir

LOGINS_FILE = "logins.json"
RENEW_BEFORE_SECONDS = 60.0
MAX_ANSWER_BYTES = 1024 * 1024


def logins_path(environ: Mapping[str, str], home: Path) -> Path:
    return user_state_dir(environ=environ, home=home) / LOGINS_FILE


def load_logins(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def save_logins(path: Path, logins: Mapping[str, Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(logins, handle, indent=2)
    temp.replace(path)


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: the CLI reads its own token's expiry and nonce; the server is
    the one that verifies it."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise CliError("the provider answered an ID token that is not a JWT") from None
    return data if isinstance(data, dict) else {}


def http_json(url: str, *, form: Mapping[str, str] | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """GET (or POST a form to) an issuer endpoint; its JSON object. Errors are one ``CliError`` line."""
    if not url.startswith(("https://", "http://")):
        raise CliError(f"OIDC endpoint {url!r} is not an http(s) URL")
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (http(s) checked)
    context = tls_context(None) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            answer = json.loads(response.read(MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url.split('?')[0]} answered {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot reach {url.split('?')[0]}: {type(exc).__name__}") from None
    if not isinstance(answer, dict):
        raise CliError(f"{url.split('?')[0]} did not answer a JSON object")
    return answer


def login_entry(
    tokens: Mapping[str, Any], *, issuer: str, client_id: str, token_endpoint: str
) -> dict[str, Any]:
    id_token = str(tokens.get("id_token") or "")
    if not id_token:
        raise CliError("the provider answered no ID token (is the 'openid' scope allowed?)")
    claims = jwt_claims(id_token)
    return {
        "issuer": issuer,
        "clientID": client_id,
        "tokenEndpoint": token_endpoint,
        "idToken": id_token,
        "refreshToken": tokens.get("refresh_token"),
        "expiresAt": float(claims.get("exp", 0)),
    }


def token_for(url: str, environ: Mapping[str, str], home: Path) -> str | None:
    """The ID token of the login for ``url``, renewed first when it is about to expire; None: no login."""
    path = logins_path(environ, home)
    logins = load_logins(path)
    entry = logins.get(url)
    if entry is None:
        return None
    if float(entry.get("expiresAt", 0)) - RENEW_BEFORE_SECONDS > time.time():
        return str(entry["idToken"])
    refresh = entry.get("refreshToken")
    if not refresh:
        raise CliError(f"the login to {url} has expired: run `gitward login --server {url}`")
    try:
        tokens = http_json(
            str(entry["tokenEndpoint"]),
            form={
                "grant_type": "refresh_token",
                "refresh_token": str(refresh),
                "client_id": str(entry["clientID"]),
            },
        )
    except CliError as exc:
        raise CliError(
            f"the login to {url} has expired and could not be renewed ({exc}): run `gitward login`"
        ) from None
    renewed = login_entry(
        tokens,
        issuer=str(entry["issuer"]),
        client_id=str(entry["clientID"]),
        token_endpoint=str(entry["tokenEndpoint"]),
    )
    renewed["refreshToken"] = renewed["refreshToken"] or refresh
    logins[url] = renewed
    save_logins(path, logins)
    return str(renewed["idToken"])
