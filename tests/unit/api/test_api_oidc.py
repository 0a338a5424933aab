"""``OidcVerifier`` against tokens signed with real keys: what it must accept and every way to refuse.

The issuer is a dict of documents handed to the verifier's fetch seam (no network); the tokens are
signed with freshly made RSA and EC keys, so the signature checks are the library's real ones. The
provider itself (Dex, a real OIDC server) is exercised end to end in ``tests/e2e``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gitward.api.identity import Grant, Unauthenticated
from gitward.api.oidc import OidcVerifier
from gitward.api.roles import RoleBook
from gitward.model.access import OIDCProvider, RoleBinding

ISSUER = "https://sso.example.com/dex"


class Issuer:
    """Discovery document + JWKS, counting fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.fetches = 0

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            out.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": out}

    async def fetch(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"}
        if url == f"{ISSUER}/keys":
            return self.jwks()
        raise OSError(f"no such document {url}")

    def token(self, kid: str = "k1", algorithm: str = "RS256", **claims: Any) -> str:
        now = time.time()
        body = {"iss": ISSUER, "aud": "gitward-cli", "sub": "u1", "email": "alice@example.com"}
        body.update({"iat": int(now), "exp": int(now) + 600, "groups": ["platform"], **claims})
        return jwt.encode(body, self.keys[kid], algorithm=algorithm, headers={"kid": kid})


def provider(**spec: Any) -> OIDCProvider:
    base = {"issuer": ISSUER, "clientID": "gitward", "cliClientID": "gitward-cli"}
    return OIDCProvider.model_validate({"metadata": {"name": "sso"}, "spec": {**base, **spec}})


BINDINGS = [
    RoleBinding.model_validate(
        {"metadata": {"name": "p"}, "spec": {"role": "deployer", "project": "web", "groups": ["platform"]}}
    ),
    RoleBinding.model_validate(
        {"metadata": {"name": "a"}, "spec": {"role": "viewer", "users": ["bob@x.org"]}}
    ),
]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def verifier(issuer: Issuer) -> OidcVerifier:
    return OidcVerifier([provider()], RoleBook.from_config([], BINDINGS), fetch=issuer.fetch)


async def test_a_valid_token_maps_groups_and_users_to_grants(issuer: Issuer, verifier: OidcVerifier) -> None:
    alice = await verifier.verify(issuer.token())
    assert (alice.name, alice.via, alice.groups) == ("alice@example.com", "oidc", ("platform",))
    assert alice.grants == (Grant("deployer", "web"),)
    bob = await verifier.verify(issuer.token(email="bob@x.org", groups=[]))
    assert bob.grants == (Grant("viewer", None),)
    nobody = await verifier.verify(issuer.token(email="eve@x.org", groups="others"))
    assert (nobody.grants, nobody.groups) == ((), ("others",))


async def test_both_client_ids_are_accepted_audiences(issuer: Issuer, verifier: OidcVerifier) -> None:
    assert (await verifier.verify(issuer.token(aud="gitward"))).name == "alice@example.com"


async def test_an_ec_key_works_too(issuer: Issuer, verifier: OidcVerifier) -> None:
    issuer.keys["e1"] = ec.generate_private_key(ec.SECP256R1())
    assert (await verifier.verify(issuer.token(kid="e1", algorithm="ES256"))).name == "alice@example.com"


def _expired(issuer: Issuer) -> str:
    return issuer.token(exp=int(time.time()) - 120)


def _other_key(issuer: Issuer) -> str:
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "gitward", "sub": "u", "iat": now, "exp": now + 60}
    return jwt.encode(claims, rogue, algorithm="RS256", headers={"kid": "k1"})


def _unsigned(issuer: Issuer) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "gitward", "sub": "u", "iat": now, "exp": now + 60}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})


def _hmac_with_public_key(issuer: Issuer) -> str:
    """Algorithm confusion: HS256 keyed with the issuer's public key, which anyone can read."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "gitward", "sub": "u", "iat": now, "exp": now + 60}
    public = issuer.keys["k1"].public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    signed = part({"alg": "HS256", "typ": "JWT", "kid": "k1"}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(public, signed, hashlib.sha256).digest()).rstrip(b"=")
    return (signed + b"." + signature).decode()  # made by hand: PyJWT itself refuses to make it


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_expired, "has expired"),
        (lambda i: i.token(aud="someone-else"), "InvalidAudienceError"),
        (lambda i: i.token(iss="https://evil.example.com"), "issuer is not a configured OIDCProvider"),
        (lambda i: i.token(kid="k1", exp=None), "MissingRequiredClaimError"),
        (_other_key, "InvalidSignatureError"),
        (_unsigned, "InvalidAlgorithmError"),
        (_hmac_with_public_key, "InvalidAlgorithmError"),
        (lambda i: "not.a.jwt", "not a valid JWT"),
    ],
)
async def test_bad_tokens_are_refused(
    issuer: Issuer, verifier: OidcVerifier, make: Any, message: str
) -> None:
    token = make(issuer)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert message in refused.value.message
    assert token not in refused.value.message


async def test_a_rotated_key_is_fetched_and_made_up_kids_cost_one_fetch_a_minute(
    issuer: Issuer, verifier: OidcVerifier
) -> None:
    await verifier.verify(issuer.token())
    fetched = issuer.fetches
    issuer.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = time.time()
    verifier._clock = lambda: now + 120  # the last fetch is older than the refresh interval
    assert (await verifier.verify(issuer.token(kid="k2"))).name == "alice@example.com"
    assert issuer.fetches == fetched + 2  # discovery + JWKS, once
    refetches = issuer.fetches
    for n in range(5):
        rogue = jwt.encode({"iss": ISSUER}, "k" * 32, algorithm="HS256", headers={"kid": f"nope{n}"})
        with pytest.raises(Unauthenticated):
            await verifier.verify(rogue)
    assert issuer.fetches == refetches


async def test_an_unreachable_issuer_refuses_without_crashing(issuer: Issuer) -> None:
    async def down(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    verifier = OidcVerifier([provider()], RoleBook(), fetch=down)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(issuer.token())
    assert "cannot be reached" in refused.value.message


def test_an_http_issuer_is_allowed_on_loopback_only() -> None:
    assert provider(issuer="http://127.0.0.1:5556/dex").spec.issuer == "http://127.0.0.1:5556/dex"
    with pytest.raises(ValueError, match="loopback"):
        provider(issuer="http://sso.example.com/dex")
