"""Bounded HTTP GET for Helm repositories, with the stdlib's urllib (run it in a thread).

Why urllib: docs/architecture.md, layers keeps httpx inside ``cluster/``, and a chart repository needs only
GET. What this adds to urllib: a size cap enforced before and while reading (a huge index or archive fails
early and never fills memory), credentials sent only to the repository's own origin (a redirect or a chart
URL on another host never receives them, as Helm does without ``--pass-credentials``), only http/https, and
errors that name the URL without any secret. Deliberately not here: retries (the control loop backs off).
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from http.client import HTTPMessage
from typing import IO
from urllib.parse import urlsplit

from gitward.core.errors import FetchError
from gitward.sources.credentials import GitCredentials, display_url, redact

_CHUNK = 1 << 16


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def check_http_url(url: str) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError(f"unsupported chart repository URL {display_url(url)!r} (use http or https)")


def authorization(credentials: GitCredentials | None) -> str | None:
    if credentials is None:
        return None
    if credentials.bearer_token:
        return f"Bearer {credentials.bearer_token}"
    if credentials.username is not None:
        pair = f"{credentials.username}:{credentials.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    return None


class _SameOriginAuthRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but only to http/https, and drop credentials when the origin changes."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FetchError(f"refusing redirect from {display_url(req.full_url)} to a non-HTTP URL")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameOriginAuthRedirect())


def http_get(
    url: str,
    *,
    max_bytes: int,
    credentials: GitCredentials | None = None,
    auth_origin: str | None = None,
    timeout: float = 60.0,
    what: str = "file",
) -> bytes:
    """The body of ``url``, at most ``max_bytes``; credentials go only to ``auth_origin``'s origin."""
    check_http_url(url)
    headers = {"User-Agent": "gitward", "Accept": "*/*"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    header = authorization(credentials)
    if header is not None and origin(url) == origin(auth_origin or url):
        request.add_header("Authorization", header)
    shown = display_url(url)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(what, shown, max_bytes)
            body = bytearray()
            while chunk := response.read(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(what, shown, max_bytes)
            return bytes(body)
    except urllib.error.HTTPError as err:
        raise FetchError(
            f"GET {shown} failed: HTTP {err.code} {redact(str(err.reason), credentials)}"
        ) from None
    except urllib.error.URLError as err:
        reason = redact(str(err.reason), credentials)
        raise FetchError(f"GET {shown} failed: {reason}") from None
    except TimeoutError:
        raise FetchError(f"GET {shown} timed out after {timeout:g}s", reason="FetchTimeout") from None
    except OSError as err:
        raise FetchError(f"GET {shown} failed: {redact(str(err), credentials)}") from None


def _too_big(what: str, url: str, limit: int) -> FetchError:
    return FetchError(f"{what} at {url} is larger than the limit of {limit} bytes", reason="TooLarge")
