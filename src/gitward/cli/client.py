"""A small JSON-over-HTTP client for the gitward API, built on urllib from the standard library.

DESIGN keeps httpx inside ``cluster/``; the CLI makes one request per command, so urllib is enough.
Every failure becomes a ``CliError`` with one line a human can act on: which URL could not be
reached, how to set the token on a 401, or the server's own ``reason: message`` otherwise.

Deliberately not here: retries (a command is run again by the user) and the token's value in any
message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

_AUTH_HELP = (
    "set GITWARD_TOKEN to the contents of the server's token file "
    "(`gitward run` prints its path; by default <state-dir>/state.token)"
)


class CliError(Exception):
    """A failure to report on one line and exit with status 1."""


def check_server_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CliError(f"server URL must be http:// or https://, got {url!r}")
    return url.rstrip("/")


@dataclass(frozen=True)
class ApiClient:
    base_url: str
    token: str | None
    timeout: float = 30.0

    def get(self, path: str, *, query: dict[str, str] | None = None) -> Any:
        return self._request("GET", path, query=query)

    def post(self, path: str, *, body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        return self._request("POST", path, body=body, timeout=timeout)

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        url = check_server_url(self.base_url) + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        return self._send(request, timeout=timeout or self.timeout)

    def _send(self, request: urllib.request.Request, *, timeout: float) -> Any:
        try:
            # The scheme was checked to be http(s) above, so urlopen cannot be steered to file:.
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise CliError(f"no answer from gitward server at {self.base_url} within {timeout:g}s") from None
        except urllib.error.URLError as exc:
            reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
            raise CliError(f"cannot reach gitward server at {self.base_url}: {reason}") from None
        except OSError as exc:
            raise CliError(f"cannot reach gitward server at {self.base_url}: {exc.strerror or exc}") from None
        try:
            return json.loads(payload) if payload else None
        except ValueError:
            raise CliError(f"server at {self.base_url} did not answer with JSON") from None

    def _http_error(self, exc: urllib.error.HTTPError) -> CliError:
        if exc.code == 401:
            if self.token:
                return CliError(f"server at {self.base_url} refused the token (401): {_AUTH_HELP}")
            return CliError(f"server at {self.base_url} needs a token (401): {_AUTH_HELP}")
        try:
            body = json.loads(exc.read())
            reason, message = str(body.get("reason", "")), str(body.get("message", ""))
        except (ValueError, AttributeError, OSError):
            reason, message = "", ""
        if message:
            return CliError(f"{reason or 'Error'} ({exc.code}): {message}")
        return CliError(f"server at {self.base_url} answered {exc.code} {exc.reason}")
