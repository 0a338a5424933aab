"""Pull from an OCI registry (the OCI distribution API): tags, manifests and blobs, verified by digest.

Only what a pull needs: ``GET /v2/<name>/tags/list`` (following ``Link`` pages), ``GET
/v2/<name>/manifests/<tag or digest>`` (OCI image manifests only) and ``GET /v2/<name>/blobs/<digest>``;
every blob and every manifest asked for by digest is hashed and refused when it does not match, and a
blob must also have the size its descriptor declares. Sizes are capped before and while reading.

Authentication follows the registry's ``WWW-Authenticate`` challenge: anonymous first; ``Basic`` is
answered with the Repository object's username and password; ``Bearer realm=...,service=...,scope=...``
is answered by asking the realm for a token (with the username and password when there are any, else
anonymously) and retrying with it. A Repository's bearer token is sent as it is. Credentials never
appear in a message; a redirect to another origin (a blob store) gets no Authorization header.

Transport: ``oci://`` speaks HTTPS with verified certificates, except to a loopback host (a registry on
this machine, as in the tests), which is spoken to over plain HTTP; a redirect or a token realm may not
leave HTTPS for HTTP anywhere else. Urllib, not httpx: docs/architecture.md, layers.

Deliberately not here: pushing, image indexes (multi-platform images), Docker schema 1/2 manifests,
referrers and signatures, retries (the control loop backs off).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlencode, urljoin, urlsplit

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.credentials import GitCredentials, display_url, redact

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MAX_MANIFEST_BYTES = 4 << 20
MAX_TAG_PAGES = 100
_MAX_ERROR_BODY = 64 << 10
_MAX_TOKEN_BYTES = 1 << 20
_CHUNK = 1 << 16

# The distribution spec's grammar for repository names, tags and digests.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^(?P<algorithm>sha256|sha512):(?P<hex>[a-f0-9]+)$")
_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
_HOST = re.compile(r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$")

# RFC 9110 challenge syntax: auth-scheme [ auth-param *( "," auth-param ) ], challenges separated by ",".
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 - an HTTP token's grammar, not a secret
_SEPARATORS = re.compile(r"[\s,]*")
_PARAM = re.compile(rf'(?P<key>{_TOKEN})\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|{_TOKEN})')
_SCHEME = re.compile(_TOKEN)
_LINK_NEXT = re.compile(r'<(?P<url>[^>]*)>\s*;[^,]*rel="?next"?')


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_digest(text: str) -> bool:
    match = _DIGEST.match(text)
    return match is not None and len(match["hex"]) == _DIGEST_LENGTHS[match["algorithm"]]


def is_tag(text: str) -> bool:
    return _TAG.match(text) is not None


def check_digest(data: bytes, digest: str, what: str) -> None:
    """Refuse ``data`` unless its hash is ``digest`` (``sha256:<hex>`` or ``sha512:<hex>``)."""
    if not is_digest(digest):
        raise FetchError(f"{what} has an unsupported digest {digest[:80]!r}", reason="DigestMismatch")
    algorithm, _, expected = digest.partition(":")
    if hashlib.new(algorithm, data).hexdigest() != expected:
        raise FetchError(
            f"{what} does not match its digest {digest}; nothing is used", reason="DigestMismatch"
        )


@dataclass(frozen=True)
class OciReference:
    """``oci://host[:port]/repository``: where a repository lives and how it is spoken to."""

    host: str  # host[:port] as written, host part lowercased
    repository: str

    @property
    def plain_http(self) -> bool:
        return is_loopback(urlsplit(f"//{self.host}").hostname or "")

    @property
    def base_url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.host}"

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.repository}"

    def child(self, name: str) -> OciReference:
        return OciReference(self.host, f"{self.repository}/{name}")


def parse_oci_url(url: str) -> OciReference:
    """``oci://host[:port]/path`` -> OciReference; ValidationError naming what is wrong."""
    shown = display_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{shown!r} is not a valid oci:// URL") from None
    if parts.scheme.lower() != "oci":
        raise ValidationError(f"{shown!r} is not an oci:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{shown!r}: credentials go in a Repository object, not in the URL")
    if parts.query or parts.fragment:
        raise ValidationError(f"{shown!r}: an oci:// URL has no query or fragment")
    host = (parts.netloc or "").lower()
    hostname = host.rsplit(":", 1)[0] if port is not None else host
    if not hostname or not _HOST.match(hostname):
        raise ValidationError(f"{shown!r} names no registry host")
    repository = parts.path.strip("/")
    if not repository or not _NAME.match(repository):
        raise ValidationError(
            f"{shown!r}: the repository path must be lowercase letters, digits and separators (._-/)"
        )
    return OciReference(host, repository)


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercased: "basic", "bearer", ...
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """The challenges of one ``WWW-Authenticate`` value, in order; parameter names lowercased."""
    out: list[Challenge] = []
    pos = 0
    while True:
        pos = _SEPARATORS.match(header, pos).end()  # type: ignore[union-attr]  # matches empty
        if pos >= len(header):
            return out
        param = _PARAM.match(header, pos)
        if param is not None and out:
            value = param["value"]
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            out[-1].params[param["key"].lower()] = value
            pos = param.end()
            continue
        scheme = _SCHEME.match(header, pos)
        if scheme is None:
            return out  # malformed from here on: keep what was read
        out.append(Challenge(scheme[0].lower()))
        pos = scheme.end()


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes
    url: str


class _Redirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only, never from HTTPS down to HTTP off loopback, and drop the
    Authorization header when the origin changes (a blob store never sees registry credentials)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        _check_transport(newurl, what=f"redirect from {display_url(req.full_url)}")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_Redirect())


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _check_transport(url: str, *, what: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(parts.hostname or "")):
        return
    raise FetchError(f"{what} to {display_url(url)} refused: only HTTPS (plain HTTP to loopback only)")


class RegistryClient:
    """One repository of one registry, with the credentials that go with it (pull only)."""

    def __init__(
        self, ref: OciReference, *, credentials: GitCredentials | None = None, timeout: float = 60.0
    ) -> None:
        self.ref = ref
        self.credentials = credentials
        self.timeout = timeout
        self._authorization: str | None = None
        if credentials is not None and credentials.bearer_token:
            self._authorization = f"Bearer {credentials.bearer_token}"
        self._answered = False  # a challenge was answered once: a second 401 means refused
        self._secrets: list[str] = list(credentials.secrets()) if credentials else []

    # -- the three reads -------------------------------------------------------------------------

    def tags(self, *, max_bytes: int) -> list[str]:
        """Every tag of the repository (following ``Link`` pages), at most ``max_bytes`` in all."""
        tags: list[str] = []
        path: str | None = f"/v2/{self.ref.repository}/tags/list"
        total = 0
        for _ in range(MAX_TAG_PAGES):
            if path is None:
                return tags
            response = self._get(path, accept="application/json", max_bytes=max_bytes, what="tag list")
            total += len(response.body)
            if total > max_bytes:
                raise FetchError(
                    f"tag list of {self.ref.url} is larger than {max_bytes} bytes", reason="TooLarge"
                )
            data = _json(response.body, f"tag list of {self.ref.url}")
            page = data.get("tags") or []
            if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                raise FetchError(f"tag list of {self.ref.url} is not a list of tags")
            tags += page
            path = _next_page(response)
        raise FetchError(f"tag list of {self.ref.url} has more than {MAX_TAG_PAGES} pages", reason="TooLarge")

    def manifest(self, reference: str) -> tuple[str, dict[str, Any]]:
        """(digest, manifest) of an OCI image manifest by tag or digest; a digest is checked."""
        if not (is_tag(reference) or is_digest(reference)):
            raise ValidationError(f"{reference!r} is neither a tag nor a digest (sha256:<64 hex>)")
        what = f"manifest {self.ref.url}{':' if is_tag(reference) else '@'}{reference}"
        response = self._get(
            f"/v2/{self.ref.repository}/manifests/{reference}", accept=OCI_MANIFEST,
            max_bytes=MAX_MANIFEST_BYTES, what=what,
        )  # fmt: skip
        if is_digest(reference):
            check_digest(response.body, reference, what)
            digest = reference
        else:
            digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
        manifest = _json(response.body, what)
        media_type = manifest.get("mediaType")
        if media_type not in (None, OCI_MANIFEST) or manifest.get("schemaVersion") != 2:
            raise FetchError(
                f"{what} is {media_type or 'not an OCI image manifest'!s}; only {OCI_MANIFEST} is supported",
                reason="UnsupportedArtifact",
            )
        return digest, manifest

    def blob(self, descriptor: dict[str, Any], *, max_bytes: int, what: str) -> bytes:
        """The blob a descriptor names, refused unless its size and digest are the declared ones."""
        digest, size = descriptor.get("digest"), descriptor.get("size")
        if not isinstance(digest, str) or not is_digest(digest):
            raise FetchError(f"{what} has no valid digest in its manifest", reason="DigestMismatch")
        if not isinstance(size, int) or size < 0:
            raise FetchError(f"{what} has no valid size in its manifest")
        if size > max_bytes:
            raise FetchError(f"{what} is {size} bytes, above the limit of {max_bytes}", reason="TooLarge")
        response = self._get(
            f"/v2/{self.ref.repository}/blobs/{digest}", accept="*/*", max_bytes=max_bytes, what=what
        )
        if len(response.body) != size:
            raise FetchError(
                f"{what} is {len(response.body)} bytes, not the {size} its manifest declares; "
                "nothing is used",
                reason="DigestMismatch",
            )
        check_digest(response.body, digest, what)
        return response.body

    # -- requests and authentication -------------------------------------------------------------

    def _get(self, path: str, *, accept: str, max_bytes: int, what: str) -> Response:
        url = urljoin(self.ref.base_url, path)
        response = self._request(url, accept=accept, max_bytes=max_bytes, what=what)
        if response.status == 401 and not self._answered:
            self._answer(response, what=what)
            response = self._request(url, accept=accept, max_bytes=max_bytes, what=what)
        if response.status == 401:
            raise self._refused(what)
        if response.status == 404:
            raise FetchError(f"{what} not found (HTTP 404){self._detail(response)}", reason="NotFound")
        if response.status >= 400:
            raise FetchError(f"GET {what} failed: HTTP {response.status}{self._detail(response)}")
        return response

    def _refused(self, what: str) -> FetchError:
        if self.credentials is None or not (self.credentials.username or self.credentials.bearer_token):
            return FetchError(
                f"registry {self.ref.host} requires credentials for {what}: declare a Repository whose url "
                f"is a prefix of {self.ref.url} with username and passwordFile",
                reason="Unauthorized",
            )
        return FetchError(
            f"registry {self.ref.host} refused the credentials of the Repository for {self.ref.url} "
            f"(HTTP 401 for {what}): check its username and password",
            reason="Unauthorized",
        )

    def _answer(self, response: Response, *, what: str) -> None:
        """Set the Authorization header the registry's challenge asks for (or explain why not)."""
        self._answered = True
        headers = response.headers.get_all("WWW-Authenticate") or []
        challenges = [c for h in headers for c in parse_challenges(h)]
        by_scheme = {c.scheme: c for c in challenges}
        creds = self.credentials
        if "bearer" in by_scheme and not (creds is not None and creds.bearer_token):
            self._authorization = "Bearer " + self._token(by_scheme["bearer"], what=what)
        elif "basic" in by_scheme and creds is not None and creds.username is not None:
            self._authorization = _basic(creds)
        # Otherwise the retry fails the same way and _refused() says what is missing.

    def _token(self, challenge: Challenge, *, what: str) -> str:
        realm = challenge.params.get("realm")
        if not realm:
            raise FetchError(f"registry {self.ref.host} sent a Bearer challenge without a realm for {what}")
        _check_transport(realm, what="token request")
        query = {"service": challenge.params.get("service", "")} if challenge.params.get("service") else {}
        query["scope"] = challenge.params.get("scope") or f"repository:{self.ref.repository}:pull"
        url = realm + ("&" if urlsplit(realm).query else "?") + urlencode(query)
        creds = self.credentials
        header = _basic(creds) if creds is not None and creds.username is not None else None
        response = self._request(
            url, accept="application/json", max_bytes=_MAX_TOKEN_BYTES, what="token", authorization=header
        )
        if response.status in (401, 403):
            raise self._refused(what)
        if response.status >= 400:
            raise FetchError(
                f"token service of {self.ref.host} answered HTTP {response.status} for {what}"
                f"{self._detail(response)}"
            )
        data = _json(response.body, f"token from {display_url(realm)}")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise FetchError(f"token service {display_url(realm)} returned no token for {what}")
        self._secrets.append(token)
        return token

    def _request(
        self, url: str, *, accept: str, max_bytes: int, what: str, authorization: str | None = None
    ) -> Response:
        _check_transport(url, what="request")
        headers = {"User-Agent": "gitward", "Accept": accept}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
        same_origin = _origin(url) == _origin(self.ref.base_url)
        header = authorization or (self._authorization if same_origin else None)
        if header is not None:
            request.add_header("Authorization", header)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return Response(response.status, response.headers, _read(response, max_bytes, what), url)
        except urllib.error.HTTPError as err:
            body = _read(err, _MAX_ERROR_BODY, what, truncate=True) if err.fp is not None else b""
            return Response(err.code, err.headers, body, url)
        except urllib.error.URLError as err:
            reason = self._scrub(str(err.reason))
            raise FetchError(f"GET {what} from {self.ref.host} failed: {reason}") from None
        except TimeoutError:
            raise FetchError(
                f"GET {what} from {self.ref.host} timed out after {self.timeout:g}s", reason="FetchTimeout"
            ) from None
        except OSError as err:
            raise FetchError(f"GET {what} from {self.ref.host} failed: {self._scrub(str(err))}") from None

    def _detail(self, response: Response) -> str:
        """The registry's own error message (``{"errors": [{"code", "message"}]}``), scrubbed."""
        try:
            errors = json.loads(response.body.decode("utf-8", "replace")).get("errors")
            first = errors[0]
            text = f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
        except (ValueError, AttributeError, IndexError, KeyError, TypeError):
            return ""
        return f" ({self._scrub(text)[:300]})" if text else ""

    def _scrub(self, text: str) -> str:
        out = redact(text, self.credentials)
        for secret in self._secrets:
            out = out.replace(secret, "***")
        return out


def _basic(credentials: GitCredentials) -> str:
    pair = f"{credentials.username or ''}:{credentials.password or ''}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _read(response: IO[bytes], max_bytes: int, what: str, *, truncate: bool = False) -> bytes:
    declared = getattr(response, "headers", None)
    length = declared.get("Content-Length") if declared is not None else None
    if not truncate and length is not None and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{what} is larger than the limit of {max_bytes} bytes", reason="TooLarge")
    body = bytearray()
    while chunk := response.read(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes])
            raise FetchError(f"{what} is larger than the limit of {max_bytes} bytes", reason="TooLarge")
    return bytes(body)


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise FetchError(f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise FetchError(f"{what} is not a JSON object")
    return data


def _next_page(response: Response) -> str | None:
    """The path of the next tag-list page from a ``Link: <...>; rel="next"`` header (same origin)."""
    link = str(response.headers.get("Link") or "")
    match = _LINK_NEXT.search(link) if link else None
    if match is None:
        return None
    target = urljoin(response.url, str(match["url"]))
    if _origin(target) != _origin(response.url):
        raise FetchError("a tag list page points to another origin")
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def layer_of(manifest: dict[str, Any], media_type: str, what: str) -> dict[str, Any]:
    """The one layer of ``media_type`` in a manifest (refused when there is none or several)."""
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise FetchError(f"{what} has no layers")
    found = [layer for layer in layers if isinstance(layer, dict) and layer.get("mediaType") == media_type]
    if len(found) != 1:
        kinds = sorted({str(layer.get("mediaType")) for layer in layers if isinstance(layer, dict)})
        count = "no" if not found else f"{len(found)}"
        raise FetchError(
            f"{what} has {count} layer of type {media_type} (it has: {', '.join(kinds) or 'none'})",
            reason="UnsupportedArtifact",
        )
    return found[0]


def config_media_type(manifest: dict[str, Any]) -> str:
    config = manifest.get("config")
    return str(config.get("mediaType", "")) if isinstance(config, dict) else ""
