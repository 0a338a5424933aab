"""``gitward login`` / ``gitward logout``: single sign-on through the server's OIDC provider.

The authorization code flow with PKCE (RFC 7636) and a loopback redirect (RFC 8252), the way a
native app signs in: the CLI asks the server which provider to use (``/api/v1/auth/providers``, open),
reads the issuer's discovery document, listens on ``127.0.0.1`` on a free port, and sends the user's
browser to the issuer with ``redirect_uri=http://localhost:<port>/callback``, a random ``state``, a
``nonce`` and the S256 challenge of a random verifier. The issuer redirects back with a code, which
only the holder of the verifier can exchange; ``state`` must match and so must the ID token's
``nonce``. The client is public (no secret: a CLI cannot keep one), which PKCE is for.

``--no-browser`` only prints the URL (on stderr) for the user to open anywhere that can reach this
machine's loopback: the same URL is what the tests open with a scripted browser.

The login is stored per server (``logins.py``) and then used by every command for that server; it
is checked by asking the server ``/api/v1/whoami``, whose answer is printed: who you are, your groups
and the roles they give you.

Deliberately not here: the device flow (the loopback flow works wherever a browser runs on the
same machine; over SSH, forward the port) and verifying the ID token (the server does that).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import os
import queue
import secrets
import threading
import urllib.parse
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.apps import CaFile, Server, Timeout
from gitward.cli.client import ApiClient, CliError
from gitward.cli.discovery import connect
from gitward.cli.logins import http_json, jwt_claims, load_logins, login_entry, logins_path, save_logins
from gitward.cli.output import console, reporting_errors

_PAGE = (
    b"<!doctype html><title>gitward</title><p>Logged in. You can close this tab and return to the terminal."
)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Callback(http.server.BaseHTTPRequestHandler):
    """Takes the one redirect back from the issuer; any other path is a 404."""

    answers: queue.Queue[dict[str, str]]

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/callback":
            self.send_error(404)
            return
        params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(_PAGE)
        self.answers.put(params)

    def log_message(self, format: str, *args: Any) -> None:  # the code is in the query: never log it
        return


def _receive_code(port_ready: queue.Queue[int], timeout: float) -> dict[str, str]:
    answers: queue.Queue[dict[str, str]] = queue.Queue()
    handler = type("Callback", (_Callback,), {"answers": answers})
    with http.server.HTTPServer(("127.0.0.1", 0), handler) as server:
        port_ready.put(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, name="gitward-login", daemon=True)
        thread.start()
        try:
            return answers.get(timeout=timeout)
        except queue.Empty:
            raise CliError(f"no login arrived within {timeout:g}s") from None
        finally:
            server.shutdown()


def _provider(client: ApiClient, name: str | None) -> dict[str, Any]:
    providers = client.get("/api/v1/auth/providers")
    found = [p for p in providers if name in (None, p.get("name"))]
    if not providers:
        raise CliError(f"the server at {client.base_url} has no OIDCProvider configured")
    if len(found) != 1:
        names = ", ".join(str(p.get("name")) for p in providers)
        raise CliError(f"choose a provider with --provider (configured: {names})")
    return dict(found[0])


def _authorize(
    provider: dict[str, Any], metadata: dict[str, Any], *, browser: bool, timeout: float
) -> dict[str, Any]:
    """Run the browser part of the flow; the token endpoint's answer."""
    verifier, challenge = _pkce()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    ports: queue.Queue[int] = queue.Queue()
    results: queue.Queue[dict[str, str] | CliError] = queue.Queue()

    def listen() -> None:
        try:
            results.put(_receive_code(ports, timeout))
        except CliError as exc:
            results.put(exc)

    threading.Thread(target=listen, name="gitward-login-listener", daemon=True).start()
    redirect_uri = f"http://localhost:{ports.get(timeout=10)}/callback"
    query = {
        "response_type": "code",
        "client_id": str(provider["clientID"]),
        "redirect_uri": redirect_uri,
        "scope": " ".join(provider.get("scopes") or ["openid"]),
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{metadata['authorization_endpoint']}?{urllib.parse.urlencode(query)}"
    err = console(stderr=True)
    err.print(Text("Open this URL to log in:"), soft_wrap=True)
    err.print(Text(url), soft_wrap=True, crop=False, overflow="ignore")
    if browser:
        webbrowser.open(url)
    answer = results.get()
    if isinstance(answer, CliError):
        raise answer
    if not hmac.compare_digest(answer.get("state", ""), state):
        raise CliError("the login answer does not belong to this login (state mismatch)")
    if "error" in answer:
        raise CliError(f"the provider refused the login: {answer['error']}")
    form = {
        "grant_type": "authorization_code",
        "code": answer.get("code", ""),
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": str(provider["clientID"]),
    }
    tokens = http_json(str(metadata["token_endpoint"]), form=form, timeout=timeout)
    if not hmac.compare_digest(str(jwt_claims(str(tokens.get("id_token", ""))).get("nonce", "")), nonce):
        raise CliError("the ID token does not answer this login (nonce mismatch)")
    return tokens


def _describe(who: dict[str, Any]) -> str:
    grants = who.get("grants") or []
    roles = ", ".join(f"{g['role']} on {g['project'] or 'every project'}" for g in grants) or "no role"
    groups = ", ".join(who.get("groups") or []) or "none"
    return f"logged in as {who.get('name')} (groups: {groups}; roles: {roles})"


def login(
    provider: Annotated[str | None, typer.Option("--provider", help="OIDCProvider name, if several.")] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the login page.")] = True,
    server: Server = None,
    ca_file: CaFile = None,
    timeout: Timeout = 300,
) -> None:
    """Log in through the server's OIDC provider (browser, authorization code flow with PKCE)."""
    with reporting_errors():
        client = connect(
            server, environ=os.environ, home=Path.home(), timeout=30, ca_file=ca_file, anonymous=True
        )
        chosen = _provider(client, provider)
        issuer = str(chosen["issuer"]).rstrip("/")
        metadata = http_json(f"{issuer}/.well-known/openid-configuration")
        tokens = _authorize(chosen, metadata, browser=browser, timeout=timeout)
        entry = login_entry(
            tokens,
            issuer=issuer,
            client_id=str(chosen["clientID"]),
            token_endpoint=str(metadata["token_endpoint"]),
        )
        who = ApiClient(base_url=client.base_url, token=entry["idToken"], ca_file=client.ca_file).get(
            "/api/v1/whoami"
        )
        path = logins_path(os.environ, Path.home())
        logins = load_logins(path)
        logins[client.base_url] = entry
        save_logins(path, logins)
    console().print(Text(_describe(who), style="green"), soft_wrap=True)


def logout(server: Server = None, ca_file: CaFile = None) -> None:
    """Forget the login stored for a server."""
    with reporting_errors():
        client = connect(server, environ=os.environ, home=Path.home(), ca_file=ca_file, anonymous=True)
        path = logins_path(os.environ, Path.home())
        logins = load_logins(path)
        known = logins.pop(client.base_url, None) is not None
        save_logins(path, logins)
    console().print(Text(f"logged out of {client.base_url}" if known else f"no login for {client.base_url}"))
