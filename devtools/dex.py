"""A real Dex (the pinned build of ``toolchain``) on loopback, and a scripted browser to log in through it.

``DexServer`` writes a config and runs ``dex serve`` on 127.0.0.1: in-memory storage, the approval
screen skipped, two ways to log in --

- ``local``: Dex's static-password connector, user ``alice@example.com`` with ``PASSWORD``. Dex's
  static passwords carry no groups, so this user is bound to a role by name.
- ``mock``: Dex's ``mockCallback`` connector, which logs in at once as "Kilgore Trout"
  (``kilgore@kilgore.trout``) with the group ``authors``: the way to test group mappings against Dex.

-- and two clients: ``gitward-cli`` (public: the CLI's PKCE flow with a ``http://localhost`` redirect)
and ``gitward`` (confidential, with ``client_secret``, redirecting to the server's ``/auth/callback``).

``browser_login`` does what a person's browser does: open the authorization URL, pick the connector,
post the password form, and follow redirects until they leave Dex (the last one is returned, or
followed too when ``follow_final``).

Deliberately not here: anything gitward-specific beyond the client ids.
"""

from __future__ import annotations

import html
import re
import secrets
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devtools import toolchain
from devtools.lifecycle import StartStop

USER_EMAIL = "alice@example.com"
PASSWORD = "gitward-test-password"  # a test user's password, nothing else
# bcrypt of PASSWORD (cost 10), made once with Python's crypt module (glibc/libxcrypt's bcrypt).
PASSWORD_BCRYPT = "$2b$10$UFEQzj40PQRbZqPy4aIfKeCxnNqoce7sn4BQVg5aqVi11KbSYQluO"
MOCK_EMAIL = "kilgore@kilgore.trout"
MOCK_GROUP = "authors"
CLI_CLIENT = "gitward-cli"
WEB_CLIENT = "gitward"


class DexError(RuntimeError):
    pass


@dataclass
class DexServer(StartStop):
    folder: Path
    port: int
    web_redirect_uris: list[str] = field(default_factory=list)
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/dex"

    @property
    def log(self) -> Path:
        return self.folder / "dex.log"

    def config(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "storage": {"type": "memory"},
            "web": {"http": f"127.0.0.1:{self.port}"},
            "logger": {"level": "info"},
            "oauth2": {"skipApprovalScreen": True, "responseTypes": ["code"]},
            "enablePasswordDB": True,
            "staticPasswords": [
                {"email": USER_EMAIL, "hash": PASSWORD_BCRYPT, "username": "alice", "userID": "alice-0001"}
            ],
            "connectors": [{"type": "mockCallback", "id": "mock", "name": "Mock"}],
            "staticClients": [
                {"id": CLI_CLIENT, "name": "gitward CLI", "public": True},
                {
                    "id": WEB_CLIENT,
                    "name": "gitward",
                    "secret": self.client_secret,
                    "redirectURIs": self.web_redirect_uris,
                },
            ],
        }

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "dex.yaml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        binary = toolchain.tool_path("dex")
        with self.log.open("wb") as out:
            self._process = subprocess.Popen([str(binary), "serve", str(config)], stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        url = f"{self.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DexError(f"dex exited with {self._process.returncode}; read {self.log}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise DexError(f"dex did not serve {url} within 60s; read {self.log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None


_FORM = re.compile(r'<form[^>]*action="([^"]*)"', re.I)


def _connector_link(page: str, connector: str) -> str | None:
    for href in re.findall(r'href="([^"]+)"', page):
        target = html.unescape(href)
        if f"/auth/{connector}" in target:
            return target
    return None


def browser_login(
    url: str,
    *,
    connector: str,
    issuer: str,
    verify: Any = True,
    follow_final: bool = True,
    cookies: httpx.Cookies | None = None,
) -> httpx.Response:
    """Log in at ``url`` through ``connector`` (``local`` with alice's password, or ``mock``) and follow
    the redirects out of Dex; returns the answer of the first request outside Dex (or that redirect)."""
    with httpx.Client(verify=verify, timeout=30, cookies=cookies) as client:
        response = client.get(url)
        for _ in range(20):
            target = response.headers.get("location")
            if response.is_redirect and target:
                target = urllib.parse.urljoin(str(response.url), target)
                if not target.startswith(issuer) and not follow_final:
                    return response
                response = client.get(target)
                if not target.startswith(issuer):
                    return response
                continue
            page = response.text
            link = _connector_link(page, connector)
            form = _FORM.search(page)
            if link and f"/auth/{connector}" not in str(response.url):
                response = client.get(urllib.parse.urljoin(str(response.url), link))
            elif form and 'name="password"' in page:
                action = urllib.parse.urljoin(str(response.url), html.unescape(form.group(1)))
                response = client.post(action, data={"login": USER_EMAIL, "password": PASSWORD})
            else:
                raise DexError(
                    f"unexpected Dex page at {response.url} ({response.status_code}): {page[:300]}"
                )
        raise DexError("too many redirects logging in through Dex")
