"""Fuzzing the webhook parsers (``api/webhooks.py``, ``api/pushrefs.py``, ``api/replay.py``;
docs/reliability.md row 15).

Properties: for any bytes and headers the route answers one of its documented statuses (200, 202,
400, 401, 404, 413) and never fails; a delivery triggers only when it is correctly signed; each
host's signature check accepts exactly the bodies signed with the receiver's secret (GitLab: exactly
the secret, whatever its bytes); the payload parser returns exactly the JSON object a body holds,
raw or form-encoded, else the 400 rejection; the repository and pushed-ref readers take any JSON
without failing, return only what the payload names within their caps, and read back exactly the
refs a well-formed push names; the replay memory says "repeated" exactly for keys remembered within
its window and its size bound.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fuzzkit import outcome, share
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitward.api.pushrefs import MAX_REFS, pushed_refs
from gitward.api.replay import RecentDeliveries, delivery_keys
from gitward.api.webhooks import (
    _CHECKS,
    MAX_URLS,
    Rejected,
    _parse,
    build_webhook_router,
    repository_urls,
)
from gitward.core.repourl import repository_key
from gitward.model import Receiver
from gitward.reconcile.secrets import receiver_secret

pytestmark = pytest.mark.fuzz

KINDS = ["github", "gitlab", "gitea", "bitbucket", "generic"]


def signature_headers(kind: str, body: bytes, secret: bytes) -> dict[str, str]:
    """What each host sends, as the server reads it: lowercase names, values decoded as latin-1."""
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {
        "github": {"x-hub-signature-256": f"sha256={digest}"},
        "gitlab": {"x-gitlab-token": secret.decode("latin-1")},
        "gitea": {"x-gitea-signature": digest},
        "bitbucket": {"x-hub-signature": f"sha256={digest}"},
        "generic": {"x-gitward-signature": f"sha256={digest}"},
    }[kind]


secrets = st.binary(min_size=1, max_size=40).map(bytes.strip).filter(bool)
latin1_text = st.text(st.characters(max_codepoint=255), max_size=80)


@given(st.sampled_from(KINDS), st.binary(max_size=200), secrets)
@example("gitlab", b"{}", "p\u00e4sswort".encode())  # a non-ASCII GitLab token: was refused
def test_a_correctly_signed_body_is_accepted(kind: str, body: bytes, secret: bytes) -> None:
    assert _CHECKS[kind](signature_headers(kind, body, secret), body, secret)


@given(
    st.sampled_from(KINDS),
    st.binary(max_size=100),
    secrets,
    st.binary(max_size=100),
    secrets,
    st.dictionaries(st.sampled_from(["x-hub-signature-256", "x-gitlab-token", "x-gitea-signature",
                                     "x-forgejo-signature", "x-hub-signature", "x-gitward-signature"]),
                    latin1_text | st.text(max_size=80)),
)  # fmt: skip
def test_only_the_right_secret_and_body_pass_the_signature_check(
    kind: str, body: bytes, secret: bytes, other_body: bytes, other_secret: bytes, forged: dict[str, str]
) -> None:
    check = _CHECKS[kind]
    if other_secret != secret:
        assert not check(signature_headers(kind, body, other_secret), body, secret)
    if other_body != body and kind != "gitlab":  # GitLab sends the token itself: it signs no body
        assert not check(signature_headers(kind, other_body, secret), body, secret)
    right = signature_headers(kind, body, secret)
    if not any(forged.get(name) == value for name, value in right.items()):
        assert not check(forged, body, secret)


json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = [
    "application/json",
    FORM,
    "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
    "",
    "text/plain",
]


@given(st.binary(max_size=300), st.sampled_from(CONTENT_TYPES))
@example(b"&" * 20, "application/x-www-form-urlencoded")  # more form fields than allowed: was a ValueError
@example(b"payload=%FF%FE", "application/x-www-form-urlencoded")
@example(b"[" * 2000, "application/json")
def test_the_payload_parser_accepts_only_json_objects(body: bytes, content_type: str) -> None:
    payload, error = outcome(lambda: _parse(body, content_type), Rejected)
    if error is not None:
        assert (error.status, error.reason) == (400, "BadRequest")
    else:
        assert isinstance(payload, dict)
    if not content_type.lower().startswith(FORM):
        expected, _ = outcome(lambda: orjson.loads(body), orjson.JSONDecodeError)
        assert payload == (expected if isinstance(expected, dict) else None)


@given(
    json_values,
    st.dictionaries(st.sampled_from(["a", "b", "payload2", "x"]), st.text(max_size=10), max_size=3),
)
def test_a_form_encoded_payload_is_its_json_object(value: Any, extra: dict[str, str]) -> None:
    body = urlencode({"payload": orjson.dumps(value).decode(), **extra}).encode()
    payload, _ = outcome(lambda: _parse(body, FORM), Rejected)
    assert payload == (value if isinstance(value, dict) else None)


URL_FIELDS = [
    *("clone_url", "html_url", "ssh_url", "git_url"),
    *("git_http_url", "git_ssh_url", "web_url", "homepage", "url"),
]
urls = st.sampled_from([
    "https://git.example.com/org/apps.git", "git@git.example.com:org/apps.git", "ssh://git@h:2222/o/r",
    "https://h/o/r", "file:///srv/repo", "https://[::1/o/r", "/srv/repo", "", " ", "https://", "x" * 3000,
]) | st.text(max_size=30)  # fmt: skip
repository_nodes = st.dictionaries(
    st.sampled_from([*URL_FIELDS, "links", "full_name", "type"]),
    urls
    | json_values
    | st.just("repository")
    | st.fixed_dictionaries({"clone": st.lists(st.fixed_dictionaries({"href": urls}), max_size=20)})
    | st.fixed_dictionaries({"html": st.fixed_dictionaries({"href": urls})}),
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "repository": repository_nodes | urls | json_values,
        "project": repository_nodes | json_values,
        "repositories": st.lists(urls | json_values, max_size=30),
        "ref": st.text(max_size=30) | st.just("refs/heads/main") | json_values,
        "after": st.just("a" * 40) | st.text(max_size=64) | json_values,
        "push": json_values,
        "changes": json_values,
    },
)


def strings_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return set().union(*(strings_in(item) for item in items)) if items else set()


@given(st.sampled_from(KINDS), payloads)
@example("github", {"repository": {"clone_url": "https://[::1/o/r"}})  # an unclosed '[': was a ValueError
def test_repository_urls_are_strings_the_payload_names_one_per_repository(
    kind: str, payload: dict[str, Any]
) -> None:
    found = repository_urls(kind, payload)
    assert len(found) <= MAX_URLS
    keys = [repository_key(url) for url in found]
    assert all(keys)
    assert len(set(keys)) == len(keys)
    named = strings_in(payload)
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    for url in found:
        assert 0 < len(url) <= 2048
        assert url in named or url == f"https://bitbucket.org/{full_name}"


@given(st.sampled_from(["github", "gitea", "gitlab"]), urls)
def test_a_push_naming_a_repository_triggers_it(kind: str, url: str) -> None:
    assume(0 < len(url) <= 2048 and repository_key(url))
    node = "project" if kind == "gitlab" else "repository"
    field = "git_http_url" if kind == "gitlab" else "clone_url"
    assert repository_urls(kind, {node: {field: url}}) == [url]


HEX = "0123456789abcdef"
object_ids = st.text(HEX + HEX.upper(), min_size=40, max_size=40) | st.text(HEX, min_size=64, max_size=64)
ref_names = st.builds(
    "{}{}".format, st.sampled_from(["refs/heads/", "refs/tags/"]), st.text(min_size=1, max_size=20)
)


@given(st.sampled_from(KINDS), payloads)
def test_pushed_refs_take_any_payload_and_return_only_full_ids_of_branches_and_tags(
    kind: str, payload: dict[str, Any]
) -> None:
    refs = pushed_refs(kind, payload)
    assert len(refs) <= MAX_REFS
    for ref, target in refs.items():
        assert ref.startswith(("refs/heads/", "refs/tags/"))
        assert len(target) in (40, 64)
        assert set(target) <= set("0123456789abcdef")


def test_a_deeply_nested_value_where_a_ref_type_belongs_is_no_ref() -> None:
    """Regression (found by the property above): ``str()`` of the deepest JSON orjson reads ran
    out of recursion. Kept out of ``@example`` because Hypothesis prints its examples."""
    body = b'{"push": {"changes": [{"new": {"type": ' + b"[" * 1015 + b"]" * 1015 + b', "name": "main"}}]}}'
    assert pushed_refs("bitbucket", orjson.loads(body)) == {}


@given(st.sampled_from(["github", "gitea", "gitlab"]), ref_names, object_ids)
def test_a_host_push_reads_back_its_ref_and_commit(kind: str, ref: str, after: str) -> None:
    assert pushed_refs(kind, {"ref": ref, "after": after}) == {ref: after.lower()}


@given(
    st.dictionaries(ref_names, st.tuples(st.sampled_from(["branch", "tag"]), object_ids), max_size=40),
    st.booleans(),
)
def test_bitbucket_changes_read_back_exactly(changes: dict[str, tuple[str, str]], cloud: bool) -> None:
    entries = []
    expected: dict[str, str] = {}
    for name, (kind, target) in changes.items():
        short = name.split("/", 2)[2]
        ref = ("refs/heads/" if kind == "branch" else "refs/tags/") + short
        if ref in expected:
            continue
        expected[ref] = target.lower()
        if cloud:
            entries.append({"new": {"type": kind, "name": short, "target": {"hash": target}}})
        else:
            entries.append({"refId": ref, "toHash": target})
    payload = {"push": {"changes": entries}} if cloud else {"changes": entries}
    assert pushed_refs("bitbucket", payload) == (expected if len(expected) <= MAX_REFS else {})


@given(
    st.lists(
        # a delivery's keys are distinct digests (``delivery_keys``)
        st.tuples(
            st.floats(0, 400),
            st.lists(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"]), max_size=3, unique=True),
        ),
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_replay_memory_repeats_exactly_what_it_remembers(
    calls: list[tuple[float, list[bytes]]], max_entries: int
) -> None:
    clock = [0.0]
    recent = RecentDeliveries(window=600.0, max_entries=max_entries, clock=lambda: clock[0])
    log: list[tuple[bytes, float]] = []  # every key remembered, in order
    for advance, keys in calls:
        clock[0] += advance
        now = clock[0]
        alive = {key for key, at in log[-max_entries:] if at + 600.0 > now}
        expected = any(key in alive for key in keys)
        assert recent.repeated(keys) == expected
        if not expected:
            log.extend((key, now) for key in keys)
        assert len(recent) <= max_entries


@given(st.sampled_from(KINDS), st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=10),
       st.dictionaries(st.sampled_from(["x-github-delivery", "idempotency-key", "x-gitea-delivery",
                                        "x-forgejo-delivery", "x-request-uuid", "x-request-id",
                                        "x-gitward-delivery", "x-other"]), latin1_text),
       st.binary(max_size=50), st.booleans())  # fmt: skip
def test_delivery_keys_never_mix_receivers(
    kind: str, receiver: str, other: str, headers: dict[str, str], body: bytes, names_commits: bool
) -> None:
    keys = delivery_keys(receiver, kind, headers, body, names_commits=names_commits)
    assert keys == delivery_keys(receiver, kind, headers, body, names_commits=names_commits)
    assert all(len(key) == 32 for key in keys)
    if not headers and not names_commits:
        assert keys == []
    if other != receiver:
        assert not set(keys) & set(delivery_keys(other, kind, headers, body, names_commits=names_commits))


# -- the route, end to end in memory --------------------------------------------------------------

SECRET = b"fuzz-secret-\xc3\xa4-0123"


class Engine:
    def __init__(self, secret_dir: Path) -> None:
        self.triggered: list[str] = []
        self.receivers: dict[str, Receiver] = {}
        (secret_dir / "secret").write_bytes(SECRET + b"\n")
        for kind in KINDS:
            self.receivers[kind] = Receiver.model_validate(
                {
                    "apiVersion": "gitward.dev/v1alpha1",
                    "kind": "Receiver",
                    "metadata": {"name": kind},
                    "spec": {"type": kind, "secretFile": str(secret_dir / "secret")},
                }
            )

    def webhook_receiver(self, name: str) -> Receiver | None:
        return self.receivers.get(name)

    async def webhook_secret(self, receiver: Receiver) -> bytes:
        return await receiver_secret(receiver, None)  # the engine's reading of a secretFile

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        self.triggered.append(url)
        return []


HEADER_NAMES = [
    "content-type", "content-length", "x-hub-signature-256", "x-gitlab-token", "x-gitea-signature",
    "x-forgejo-signature", "x-hub-signature", "x-gitward-signature", "x-github-event", "x-event-key",
    "x-github-delivery", "x-gitward-delivery",
]  # fmt: skip
header_values = st.sampled_from(["application/json", FORM, "ping", "0", "\u00b2", "0" * 5000]) | latin1_text


def correctly_signed(kind: str, body: bytes, sent: dict[str, bytes]) -> bool:
    right = {name: value.encode("latin-1") for name, value in signature_headers(kind, body, SECRET).items()}
    if kind == "gitea":  # Forgejo's header is taken first, under the same scheme
        given = sent.get("x-forgejo-signature") or sent.get("x-gitea-signature")
        return given == right["x-gitea-signature"]
    return all(sent.get(name) == value for name, value in right.items())


@pytest.fixture(scope="module")
def route(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Engine]:
    engine = Engine(tmp_path_factory.mktemp("webhook-secrets"))
    app = FastAPI()
    app.include_router(build_webhook_router(engine, max_body_bytes=4096))  # type: ignore[arg-type]
    return TestClient(app), engine


@given(
    receiver=st.sampled_from([*KINDS, "nope", "UPPER", "a..b", "-x"]),
    body=st.binary(max_size=300) | json_values.map(orjson.dumps) | payloads.map(orjson.dumps),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6),
    signed=st.booleans(),
)
@example(receiver="github", body=b"{}", headers={"content-length": "\u00b2"}, signed=True)  # was a ValueError
@example(
    receiver="github", body=b"{}", headers={"content-length": "0" * 5000}, signed=True
)  # was a ValueError
@example(
    receiver="generic",
    body=b"&" * 20,
    headers={"content-type": "application/x-www-form-urlencoded"},
    signed=True,
)
@example(receiver="gitlab", body=b'{"project": {"git_http_url": "https://h/o/r"}}', headers={}, signed=True)
@share(0.5)
def test_the_route_answers_every_request_with_a_documented_status(
    route: tuple[TestClient, Engine], receiver: str, body: bytes, headers: dict[str, str], signed: bool
) -> None:
    client, engine = route
    before = len(engine.triggered)
    sent: dict[str, bytes] = {name: value.encode("latin-1") for name, value in headers.items()}
    if signed and receiver in KINDS:
        sent.update({k: v.encode("latin-1") for k, v in signature_headers(receiver, body, SECRET).items()})
    response = client.post(f"/api/v1/webhooks/{receiver}", content=body, headers=sent)
    assert response.status_code in (200, 202, 400, 401, 404, 413), response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"reason", "message"}
        assert len(engine.triggered) == before
    if response.status_code < 300 or len(engine.triggered) > before:
        assert receiver in KINDS
        assert correctly_signed(receiver, body, {k.lower(): v for k, v in sent.items()})
    assert SECRET.decode("latin-1") not in response.text
