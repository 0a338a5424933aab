"""A small JSON-over-HTTP client for the gitward API, built on urllib from the standard library.

docs/architecture.md (layers) keeps httpx inside ``cluster/``; the CLI makes one request per command, so
urllib is enough. Every failure becomes a ``CliError`` with one line a human can act on: which URL could not
be reached, how to set the token on a 401, or the server's own ``reason: message`` otherwise.

The timeout is a deadline for the whole exchange, not only for each socket operation as urllib's own
is (a name lookup, or a server that trickles bytes, would outlast that): the request runs on a daemon
thread and the command answers when the deadline passes, whatever the thread is still waiting for.

An https server's certificate is always verified: against ``ca_file`` when one is given (``--ca-file``,
``GITWARD_CA_FILE``, or the certificate a local ``gitward run --tls auto`` announces), else against the
system's trust store. A certificate that does not verify is one line saying so and how to trust it;
there is no switch to skip the check.

``events`` follows a server-sent event stream (``GET /api/v1/stream``) line by line; there the
timeout is the longest silence allowed (the server sends a keep-alive comment every 15 seconds), not
a deadline for the whole exchange.

Deliberately not here: retries (a command is run again by the user) and the token's value in any
message.
"""

from __future__ import annotations

import http.client
import json
import queue
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_AUTH_HELP = (
    "run `gitward login`, or set GITWARD_TOKEN to an API token or the contents of the server's token "
    "file (`gitward run` prints its path; by default <state-dir>/state.token)"
)


class CliError(Exception):
    """A failure to report on one line and exit with status 1."""


def check_server_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CliError(f"server URL must be http:// or https://, got {url!r}")
    return url.rstrip("/")


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification against ``ca_file`` only, or the system's trust store when None."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot use CA file {ca_file}: {getattr(exc, 'strerror', None) or exc}") from None


@dataclass(frozen=True)
class ApiClient:
    base_url: str
    token: str | None
    timeout: float = 30.0
    ca_file: Path | None = None

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def get(self, path: str, *, query: dict[str, str] | None = None) -> Any:
        return self._request("GET", path, query=query)

    def post(
        self,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return self._request("POST", path, query=query, body=body, timeout=timeout)

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

    def events(
        self, path: str, *, query: dict[str, str] | None = None, quiet_for: float = 45.0
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, data) of each server-sent event of ``path`` until the server ends the stream;
        CliError when it cannot be opened or stays silent for ``quiet_for`` seconds."""
        url = check_server_url(self.base_url) + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "text/event-stream"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
        context = tls_context(self.ca_file) if self.base_url.startswith("https:") else None
        try:
            response = urllib.request.urlopen(request, timeout=quiet_for, context=context)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(getattr(exc, "reason", None), "strerror", None) or str(exc)
            raise CliError(f"cannot reach gitward server at {self.base_url}: {reason}") from None
        try:
            with response:
                yield from _parse_events(response)
        except TimeoutError:
            raise CliError(f"the event stream of {self.base_url} was silent for {quiet_for:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise CliError(f"the event stream of {self.base_url} broke off ({type(exc).__name__})") from None

    def _send(self, request: urllib.request.Request, *, timeout: float) -> Any:
        answers: queue.Queue[bytes | CliError] = queue.Queue(maxsize=1)

        def exchange() -> None:
            try:
                answers.put(self._exchange(request, timeout=timeout))
            except Exception as exc:  # the main thread must hear of it now, not at the deadline
                answers.put(CliError(f"request to {self.base_url} failed: {type(exc).__name__}"))

        # A daemon thread never keeps the command alive past its deadline.
        threading.Thread(target=exchange, name="gitward-request", daemon=True).start()
        try:
            payload = answers.get(timeout=timeout)
        except queue.Empty:
            raise self._no_answer(timeout) from None
        if isinstance(payload, CliError):
            raise payload
        try:
            return json.loads(payload) if payload else None
        except ValueError:
            raise CliError(f"server at {self.base_url} did not answer with JSON") from None

    def _exchange(self, request: urllib.request.Request, *, timeout: float) -> bytes | CliError:
        """The answer's body, or the error to report (returned: it crosses a thread)."""
        context = tls_context(self.ca_file) if self.base_url.startswith("https:") else None
        try:
            # The scheme was checked to be http(s) above, so urlopen cannot be steered to file:.
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            return self._http_error(exc)
        except TimeoutError:
            return self._no_answer(timeout)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return self._no_answer(timeout)
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                return self._untrusted(exc.reason)
            reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
            return CliError(f"cannot reach gitward server at {self.base_url}: {reason}")
        except OSError as exc:
            return CliError(f"cannot reach gitward server at {self.base_url}: {exc.strerror or exc}")
        except http.client.HTTPException as exc:
            return CliError(f"server at {self.base_url} broke off its answer ({type(exc).__name__})")

    def _untrusted(self, error: ssl.SSLCertVerificationError) -> CliError:
        detail = error.verify_message or "certificate verify failed"
        trusted = f"the CA file {self.ca_file}" if self.ca_file else "the system's trusted CAs"
        return CliError(
            f"TLS certificate of {self.base_url} is not trusted ({detail}; checked against {trusted}): "
            "pass --ca-file with the server's certificate or its CA (or set GITWARD_CA_FILE)"
        )

    def _no_answer(self, timeout: float) -> CliError:
        return CliError(f"no answer from gitward server at {self.base_url} within {timeout:g}s")

    def _http_error(self, exc: urllib.error.HTTPError) -> CliError:
        try:
            body = json.loads(exc.read())
            reason, message = str(body.get("reason", "")), str(body.get("message", ""))
        except (ValueError, AttributeError, OSError, http.client.HTTPException):
            reason, message = "", ""
        if exc.code == 401:
            why = f"401: {message}" if message else "401"
            if self.token:
                return CliError(f"server at {self.base_url} refused the token ({why}): {_AUTH_HELP}")
            return CliError(f"server at {self.base_url} needs a token ({why}): {_AUTH_HELP}")
        if message:
            return CliError(f"{reason or 'Error'} ({exc.code}): {message}")
        return CliError(f"server at {self.base_url} answered {exc.code} {exc.reason}")


def _parse_events(lines: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``text/event-stream`` format: ``event:`` and ``data:`` lines, a blank line ends one.
    First comes ``("open", {})`` once the server has answered: from then on no change is missed."""
    kind, data = "", list[str]()
    yield "open", {}
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            payload = _json_or_none("\n".join(data)) if data else None
            if isinstance(payload, dict):
                yield kind or "message", payload
            kind, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "data":
            data.append(value)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
