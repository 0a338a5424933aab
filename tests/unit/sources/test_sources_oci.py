"""OCI sources without a network: tag choice, URLs, challenges, manifests, digests, the auth dance over a
scripted transport, and the safe unpacking of an artifact layer."""

from __future__ import annotations

import hashlib
import json
import re
from email.message import Message
from pathlib import Path

import pytest
from chartfixtures import make_tgz

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.chartarchive import ChartLimits, unpack_tree
from gitward.sources.credentials import GitCredentials
from gitward.sources.ociartifact import FLUX_CONFIG, FLUX_CONTENT
from gitward.sources.ocichart import HELM_CHART_LAYER, choose_tag, tag_version, version_tag
from gitward.sources.ociregistry import (
    OCI_MANIFEST,
    RegistryClient,
    Response,
    check_digest,
    config_media_type,
    is_loopback,
    layer_of,
    parse_challenges,
    parse_oci_url,
)

pytestmark = pytest.mark.unit

TAGS = ["0.9.0", "1.0.0", "1.4.0", "1.4.1-rc.1", "1.5.0_build.7", "2.0.0", "latest", "main", "v1.6.0"]


@pytest.mark.parametrize(
    ("spec", "tag"),
    [
        ("1.0.0", "1.0.0"),
        (">=1.0.0 <2.0.0", "v1.6.0"),  # a leading v is a version too
        ("~1.4", "1.4.0"),  # the release candidate needs a range naming a pre-release
        ("~1.4.1-rc.0", "1.4.1-rc.1"),
        ("1.5.x", "1.5.0_build.7"),  # Helm's tag for version 1.5.0+build.7
        ("", "2.0.0"),  # newest stable
        ("^0.9", "0.9.0"),
        (">=3", None),
    ],
)
def test_tag_choice_by_range(spec: str, tag: str | None) -> None:
    assert choose_tag(TAGS, spec) == tag


def test_plus_is_stored_as_underscore() -> None:
    assert version_tag("1.0.0+build.1") == "1.0.0_build.1"
    assert tag_version("1.0.0_build.1") == "1.0.0+build.1"


def test_an_invalid_range_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid chart version"):
        choose_tag(TAGS, ">>1")


def test_oci_urls() -> None:
    ref = parse_oci_url("oci://127.0.0.1:5000/charts")
    assert (ref.host, ref.repository, ref.base_url) == ("127.0.0.1:5000", "charts", "http://127.0.0.1:5000")
    assert ref.child("podinfo").url == "oci://127.0.0.1:5000/charts/podinfo"
    assert parse_oci_url("oci://ghcr.io/org/team/app").base_url == "https://ghcr.io"
    assert parse_oci_url("oci://localhost:5000/a").plain_http
    assert parse_oci_url("oci://[::1]:5000/a").plain_http
    assert not parse_oci_url("oci://registry.example.com:5000/a").plain_http
    assert is_loopback("127.0.0.2")
    assert not is_loopback("10.0.0.1")
    assert not is_loopback("localhost.evil")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://ghcr.io/a", "not an oci:// URL"),
        ("oci://user:secret@ghcr.io/a", "credentials go in a Repository"),
        ("oci://ghcr.io", "repository path"),
        ("oci://ghcr.io/Upper/Case", "repository path"),
        ("oci://ghcr.io/a?x=1", "no query"),
        ("oci:///a", "no registry host"),
    ],
)
def test_bad_oci_urls_are_refused_without_showing_secrets(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_oci_url(url)
    assert "secret" not in str(caught.value)


def test_bearer_challenge_with_quoted_commas() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:org/app:pull,push"'
    )
    [challenge] = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:org/app:pull,push",
    }


def test_several_challenges_in_one_header() -> None:
    challenges = parse_challenges('Basic realm="a b", Bearer realm="https://x/token", service=svc, Foo')
    assert [c.scheme for c in challenges] == ["basic", "bearer", "foo"]
    assert challenges[0].params == {"realm": "a b"}
    assert challenges[1].params == {"realm": "https://x/token", "service": "svc"}


def test_escaped_quotes_and_malformed_rest() -> None:
    [challenge] = parse_challenges('Bearer realm="a\\"b" ,,, =junk')
    assert challenge.params == {"realm": 'a"b'}
    assert parse_challenges("") == []


def _manifest(config: str, layers: list[tuple[str, bytes]]) -> dict[str, object]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config, "digest": _digest(b"{}"), "size": 2},
        "layers": [{"mediaType": m, "digest": _digest(d), "size": len(d)} for m, d in layers],
    }


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_layer_selection() -> None:
    manifest = _manifest(FLUX_CONFIG, [(FLUX_CONTENT, b"a")])
    assert config_media_type(manifest) == FLUX_CONFIG
    assert layer_of(manifest, FLUX_CONTENT, "x")["size"] == 1
    expected = f"has no layer of type {re.escape(HELM_CHART_LAYER)}.*it has: {re.escape(FLUX_CONTENT)}"
    with pytest.raises(FetchError, match=expected):
        layer_of(manifest, HELM_CHART_LAYER, "x")
    two = _manifest(FLUX_CONFIG, [(FLUX_CONTENT, b"a"), (FLUX_CONTENT, b"b")])
    with pytest.raises(FetchError, match="has 2 layer"):
        layer_of(two, FLUX_CONTENT, "x")


def test_digest_check() -> None:
    check_digest(b"abc", _digest(b"abc"), "blob")
    with pytest.raises(FetchError, match="does not match its digest") as caught:
        check_digest(b"abd", _digest(b"abc"), "blob")
    assert caught.value.reason == "DigestMismatch"
    with pytest.raises(FetchError, match="unsupported digest"):
        check_digest(b"abc", "md5:900150983cd24fb0d6963f7d28e17f72", "blob")


class ScriptedClient(RegistryClient):
    """A RegistryClient whose transport is a function of (url, Authorization header)."""

    def __init__(self, routes, credentials: GitCredentials | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parse_oci_url("oci://registry.example.com/org/app"), credentials=credentials)
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []

    def _request(self, url, *, accept, max_bytes, what, authorization=None):  # type: ignore[no-untyped-def]
        header = authorization or self._authorization
        self.seen.append((url, header))
        status, headers, body = self.routes(url, header)
        message = Message()
        for key, value in headers.items():
            message[key] = value
        return Response(status, message, body, url)


LAYER = b"layer bytes"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="reg"'}


def _bearer_routes(expected_basic: str | None):  # type: ignore[no-untyped-def]
    def routes(url: str, header: str | None) -> tuple[int, dict[str, str], bytes]:
        if url.startswith("https://auth.example.com/token"):
            assert "service=reg" in url
            assert "scope=repository%3Aorg%2Fapp%3Apull" in url
            if header != expected_basic:
                return 401, {}, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            return 200, {}, json.dumps({"token": "tok-123"}).encode()
        if header != "Bearer tok-123":
            return 401, CHALLENGE, b""
        if url.endswith("/blobs/" + _digest(LAYER)):
            return 200, {}, LAYER
        return 404, {}, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}'

    return routes


def test_bearer_flow_with_basic_credentials() -> None:
    creds = GitCredentials(username="u", password="p4ss")
    client = ScriptedClient(_bearer_routes("Basic dTpwNHNz"), creds)
    data = client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="layer")
    assert data == LAYER
    assert [h for _, h in client.seen] == [None, "Basic dTpwNHNz", "Bearer tok-123"]


def test_anonymous_bearer_flow() -> None:
    client = ScriptedClient(_bearer_routes(None))
    assert client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="layer") == LAYER


def test_wrong_credentials_say_so_without_the_password() -> None:
    creds = GitCredentials(username="u", password="wrong-secret")
    client = ScriptedClient(_bearer_routes("Basic dTpwNHNz"), creds)
    with pytest.raises(FetchError, match="refused the credentials") as caught:
        client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="layer")
    assert "wrong-secret" not in str(caught.value)
    assert caught.value.reason == "Unauthorized"


def test_no_credentials_for_a_private_registry() -> None:
    client = ScriptedClient(_bearer_routes("Basic dTpwNHNz"))
    with pytest.raises(FetchError, match=r"requires credentials.*declare a Repository"):
        client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="layer")


def test_basic_challenge_is_answered_once() -> None:
    def routes(url: str, header: str | None) -> tuple[int, dict[str, str], bytes]:
        if header == "Basic dTpwNHNz":
            return 200, {}, LAYER
        return 401, {"WWW-Authenticate": 'Basic realm="registry"'}, b""

    client = ScriptedClient(routes, GitCredentials(username="u", password="p4ss"))
    assert client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="l") == LAYER
    client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="l")
    assert [h for _, h in client.seen] == [None, "Basic dTpwNHNz", "Basic dTpwNHNz"]


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (b"layer bytez", "does not match its digest"),  # same size, other content
        (b"layer bytes!", "not the 11 its manifest declares"),
    ],
)
def test_a_blob_that_is_not_the_one_declared_is_refused(served: bytes, message: str) -> None:
    client = ScriptedClient(lambda url, header: (200, {}, served))
    with pytest.raises(FetchError, match=message) as caught:
        client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=100, what="layer")
    assert caught.value.reason == "DigestMismatch"


def test_a_blob_larger_than_the_limit_is_not_downloaded() -> None:
    client = ScriptedClient(lambda url, header: (200, {}, LAYER))
    with pytest.raises(FetchError, match="above the limit") as caught:
        client.blob({"digest": _digest(LAYER), "size": len(LAYER)}, max_bytes=5, what="layer")
    assert caught.value.reason == "TooLarge"
    assert client.seen == []


def test_manifest_by_digest_is_checked_and_by_tag_is_hashed() -> None:
    body = json.dumps(_manifest(FLUX_CONFIG, [(FLUX_CONTENT, LAYER)])).encode()
    client = ScriptedClient(lambda url, header: (200, {}, body))
    digest, manifest = client.manifest("v1")
    assert digest == _digest(body)
    assert manifest["layers"][0]["size"] == len(LAYER)
    assert client.manifest(digest)[0] == digest
    with pytest.raises(FetchError, match="does not match its digest"):
        client.manifest(_digest(b"another manifest"))


def test_only_oci_image_manifests() -> None:
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"})
    client = ScriptedClient(lambda url, header: (200, {}, index.encode()))
    with pytest.raises(
        FetchError, match=re.escape("only application/vnd.oci.image.manifest.v1+json")
    ) as caught:
        client.manifest("v1")
    assert caught.value.reason == "UnsupportedArtifact"


def test_tag_list_follows_pages() -> None:
    def routes(url: str, header: str | None) -> tuple[int, dict[str, str], bytes]:
        if "last=b" in url:
            return 200, {}, json.dumps({"tags": ["c"]}).encode()
        link = '</v2/org/app/tags/list?n=2&last=b>; rel="next"'
        return 200, {"Link": link}, json.dumps({"tags": ["a", "b"]}).encode()

    assert ScriptedClient(routes).tags(max_bytes=1000) == ["a", "b", "c"]


def test_not_found_names_the_registry_error() -> None:
    client = ScriptedClient(
        lambda url, header: (
            404,
            {},
            b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
        )
    )
    with pytest.raises(FetchError, match=r"not found.*MANIFEST_UNKNOWN") as caught:
        client.manifest("v9")
    assert caught.value.reason == "NotFound"


def test_plain_http_only_to_loopback() -> None:
    client = RegistryClient(parse_oci_url("oci://registry.example.com/a"))
    with pytest.raises(FetchError, match="only HTTPS"):
        client._request("http://registry.example.com/v2/", accept="*/*", max_bytes=10, what="x")


LIMITS = ChartLimits(max_files=50, max_bytes=1 << 20)


def test_artifact_layers_keep_their_paths(tmp_path: Path) -> None:
    layer = make_tgz(
        [("./", None, "dir"), ("./app.yaml", b"kind: ConfigMap\n", "file"), ("sub/b.yaml", b"x", "file")]
    )
    unpack_tree(layer, tmp_path / "out", label="a", limits=LIMITS)
    assert (tmp_path / "out/app.yaml").read_text() == "kind: ConfigMap\n"
    assert (tmp_path / "out/sub/b.yaml").is_file()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("../evil", b"x", "file")], "unsafe path"),
        ([("/etc/evil", b"x", "file")], "unsafe path"),
        ([("a.yaml", b"x", "file"), ("link", b"/etc/passwd", "symlink")], "link"),
        ([("a.yaml", b"x", "file"), ("hard", b"a.yaml", "hardlink")], "link"),
        ([("a.yaml", b"1", "file"), ("a.yaml", b"2", "file")], "duplicate"),
        ([(f"f{i}", b"x", "file") for i in range(60)], "more than 50 entries"),
    ],
)
def test_hostile_artifact_layers_are_refused(members, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match=message) as caught:
        unpack_tree(make_tgz(members), tmp_path / "out", label="a", limits=LIMITS)
    assert caught.value.reason == "ArtifactRejected"
    assert not (tmp_path / "evil").exists()
