"""OIDC ID tokens as API credentials: signature, issuer, audience and expiry checked, groups to roles.

For each configured ``OIDCProvider`` the server reads the issuer's discovery document
(``<issuer>/.well-known/openid-configuration``, whose ``issuer`` must be the configured one) and its
JWKS, and keeps the keys in memory. A bearer JWT is matched to its provider by its ``iss`` claim,
then verified with PyJWT against the key named by its ``kid``: only asymmetric algorithms are
accepted (so a token "signed" with ``none`` or with the public key as an HMAC secret is refused),
``aud`` must be one of the provider's client ids, ``exp`` and ``iat`` must be present and ``exp`` in
the future (30 s leeway for clock skew). A ``kid`` not in the cached set refetches the JWKS, at most
once a minute, so a key rotation is picked up and a flood of made-up kids costs no flood of fetches.

Why PyJWT and not our own verifier: the checks above are where hand-written JWT code goes wrong
(algorithm confusion, claim edge cases); PyJWT is small, maintained, and depends only on
``cryptography``, which gitward ships already.

A verified token's principal is cached by the token's SHA-256 until the token expires: the signature
check is paid once per token, not once per request.

Deliberately not here: getting tokens (``cli/login.py`` and ``login_routes.py`` run the
authorization code flow) and the HTTP client's TLS settings beyond the system's trust store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitward.api.identity import Principal, Unauthenticated
from gitward.api.roles import RoleBook
from gitward.model.access import OIDCProvider

if TYPE_CHECKING:
    import jwt

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 30.0
JWKS_REFRESH_SECONDS = 60.0
MAX_DOCUMENT_BYTES = 1024 * 1024
CACHE_SIZE = 4096

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]


def check_http_url(url: str) -> str:
    """Endpoints named by a discovery document must be http(s): urlopen would also read file: URLs."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("an OIDC endpoint is not an http(s) URL")
    return url


def _fetch_blocking(url: str) -> dict[str, Any]:
    request = urllib.request.Request(check_http_url(url), headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (checked above)
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url}: document larger than {MAX_DOCUMENT_BYTES} bytes")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError(f"{url}: not a JSON object")
    return data


async def fetch_json(url: str) -> dict[str, Any]:
    """GET a JSON object off the event loop (urllib blocks)."""
    return await asyncio.to_thread(_fetch_blocking, url)


@dataclass
class _Issuer:
    provider: OIDCProvider
    metadata: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def claim_list(value: Any) -> tuple[str, ...]:
    """A groups claim as strings: a list of them, or one string."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int))
    return ()


class OidcVerifier:
    """Verifies ID tokens of the configured providers and maps their users to grants."""

    def __init__(
        self,
        providers: Sequence[OIDCProvider],
        roles: RoleBook,
        *,
        fetch: FetchJson = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {p.spec.issuer: _Issuer(p) for p in providers}
        self.roles = roles
        self._fetch = fetch
        self._clock = clock
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    @property
    def providers(self) -> list[OIDCProvider]:
        return [i.provider for i in self._issuers.values()]

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The discovery document of a configured issuer (fetched once)."""
        entry = self._issuers[issuer]
        if not entry.metadata:
            await self._refresh(entry, force=True)
        return entry.metadata

    async def verify(self, token: str) -> Principal:
        """The principal of a valid ID token; raises ``Unauthenticated``."""
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._verified.get(key)
        if cached is not None and cached.expires_at is not None and cached.expires_at > self._clock():
            return cached
        principal = await self._verify(token)
        self._verified[key] = principal
        while len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        import jwt  # PyJWT loads cryptography: a server without OIDC sign-in never needs it

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a valid JWT") from None
        entry = self._issuers.get(str(unverified.get("iss", "")).rstrip("/"))
        if entry is None:
            raise Unauthenticated("the ID token's issuer is not a configured OIDCProvider")
        signing_key = await self._key(entry, str(header.get("kid", "")))
        spec = entry.provider.spec
        try:
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=list(ALGORITHMS),
                audience=list(spec.audiences),
                issuer=str(unverified.get("iss")),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the ID token has expired; run `gitward login` again") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the ID token was refused: {type(exc).__name__}") from None
        return self.principal(entry.provider, claims)

    def principal(self, provider: OIDCProvider, claims: dict[str, Any]) -> Principal:
        spec = provider.spec
        name = claims.get(spec.username_claim) or claims["sub"]
        groups = claim_list(claims.get(spec.groups_claim))
        return Principal(
            name=str(name),
            via="oidc",
            grants=self.roles.grants_for(str(name), groups),
            groups=groups,
            expires_at=float(claims["exp"]),
        )

    async def _key(self, entry: _Issuer, kid: str) -> jwt.PyJWK:
        found = entry.keys.get(kid)
        if found is None:
            await self._refresh(entry, force=False)
            found = entry.keys.get(kid)
        if found is None and not kid and len(entry.keys) == 1:
            found = next(iter(entry.keys.values()))  # one key and no kid: it can only be that one
        if found is None:
            raise Unauthenticated("the ID token is signed by a key the issuer does not publish")
        return found

    async def _refresh(self, entry: _Issuer, *, force: bool) -> None:
        async with entry.lock:
            if not force and self._clock() - entry.fetched_at < JWKS_REFRESH_SECONDS:
                return
            entry.fetched_at = self._clock()
            issuer = entry.provider.spec.issuer
            import jwt

            try:
                metadata = await self._fetch(f"{issuer}/.well-known/openid-configuration")
                if str(metadata.get("issuer", "")).rstrip("/") != issuer:
                    raise ValueError("the discovery document names another issuer")
                jwks = await self._fetch(str(metadata["jwks_uri"]))
                keys = {k.key_id or "": k for k in jwt.PyJWKSet.from_dict(jwks).keys}
            except Exception as exc:
                log.warning("OIDC issuer %s: cannot read its keys: %s", issuer, type(exc).__name__)
                raise Unauthenticated("the ID token's issuer cannot be reached to check it") from None
            entry.metadata, entry.keys = metadata, keys
