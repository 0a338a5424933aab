"""OCI sources against the real CNCF distribution registry on loopback.

Charts go in with the real ``helm push``; manifests go in as ``flux push artifact`` lays them out
(``devtools.ociregistry``). Each registry is a separate process, stopped when its module's tests end.
Tampering is done where an attacker with the storage would do it: in the blob file the registry serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from devtools.ociregistry import PASSWORD, USERNAME, OciRegistry, package_chart
from devtools.toolchain import tool_path
from tests.unit.sources.chartfixtures import make_tgz

from gitward.core.errors import FetchError
from gitward.render import DirectoryParams, RenderParams, RenderTools, render
from gitward.sources import GitCredentials, fetch_chart, fetch_oci_artifact
from gitward.sources.ociartifact import FLUX_CONTENT

pytestmark = pytest.mark.integration

VERSIONS = ("1.0.0", "1.4.0", "1.5.0-rc.1", "2.0.0", "1.2.0+build.5")
GOOD = GitCredentials(username=USERNAME, password=PASSWORD)
BAD = GitCredentials(username=USERNAME, password="not-the-password-0451")


def _push_charts(registry: OciRegistry, folder: Path, name: str = "greeter") -> None:
    for version in VERSIONS:
        registry.push_chart(package_chart(folder, name, version))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    folder = tmp_path_factory.mktemp("registry")
    with OciRegistry(folder / "open") as server:
        _push_charts(server, folder)
        yield server


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    folder = tmp_path_factory.mktemp("registry-basic")
    with OciRegistry(folder / "basic", auth="htpasswd") as server:
        _push_charts(server, folder)
        yield server


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    folder = tmp_path_factory.mktemp("registry-token")
    with OciRegistry(folder / "token", auth="token") as server:
        _push_charts(server, folder)
        yield server


def _version(directory: Path) -> str:
    return str(yaml.safe_load((directory / "Chart.yaml").read_text())["version"])


@pytest.mark.parametrize(
    ("spec", "version"),
    [
        ("1.0.0", "1.0.0"),
        (">=1.0.0 <2.0.0", "1.4.0"),  # the release candidate is skipped
        ("~1.5.0-rc.0", "1.5.0-rc.1"),
        ("", "2.0.0"),
        ("1.2.0+build.5", "1.2.0+build.5"),  # pushed by helm as tag 1.2.0_build.5
        ("~1.2", "1.2.0+build.5"),
    ],
)
async def test_chart_by_version_and_by_range(
    registry: OciRegistry, tmp_path: Path, spec: str, version: str
) -> None:
    directory = await fetch_chart(registry.url("charts"), "greeter", spec, dest=tmp_path)
    assert directory.name == version
    assert _version(directory) == version
    assert (directory / "templates/configmap.yaml").is_file()


async def test_a_pinned_chart_is_read_from_the_cache_without_the_registry(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("short-lived")
    with OciRegistry(folder / "registry") as server:
        server.push_chart(package_chart(folder, "pinned", "3.1.0"))
        url = server.url("charts")
        first = await fetch_chart(url, "pinned", "3.1.0", dest=tmp_path)
    again = await fetch_chart(url, "pinned", "3.1.0", dest=tmp_path)  # the registry is gone
    assert again == first
    with pytest.raises(FetchError):
        await fetch_chart(url, "pinned", ">=3.0.0", dest=tmp_path)  # a range must list the tags


async def test_missing_chart_or_version(registry: OciRegistry, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"no version of chart 'greeter'.*'>=9'") as caught:
        await fetch_chart(registry.url("charts"), "greeter", ">=9", dest=tmp_path)
    assert caught.value.reason == "ChartNotFound"
    with pytest.raises(FetchError, match="not found"):
        await fetch_chart(registry.url("charts"), "nobody", "1.0.0", dest=tmp_path)


@pytest.mark.parametrize("fixture", ["basic_registry", "token_registry"])
async def test_credentials(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server: OciRegistry = request.getfixturevalue(fixture)
    url = server.url("charts")
    directory = await fetch_chart(url, "greeter", "^1.0", dest=tmp_path, credentials=GOOD)
    assert _version(directory) == "1.4.0"
    if fixture == "token_registry":
        assert any("scope=repository%3Acharts%2Fgreeter%3Apull" in r for r in server.token_requests)

    with pytest.raises(FetchError, match=r"requires credentials.*Repository whose url is a prefix") as caught:
        await fetch_chart(url, "greeter", "^1.0", dest=tmp_path / "anonymous")
    assert caught.value.reason == "Unauthorized"

    with pytest.raises(FetchError, match="refused the credentials of the Repository") as caught:
        await fetch_chart(url, "greeter", "^1.0", dest=tmp_path / "wrong", credentials=BAD)
    assert caught.value.reason == "Unauthorized"
    assert BAD.password not in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_anonymous_pull_through_the_token_service(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("registry-public")
    with OciRegistry(folder / "registry", auth="token", anonymous_pull=True) as server:
        server.push_chart(package_chart(folder, "public", "0.3.0"))
        directory = await fetch_chart(server.url("charts"), "public", "0.x", dest=folder / "cache")
        assert _version(directory) == "0.3.0"
        assert any("scope=repository%3Acharts%2Fpublic%3Apull" in r for r in server.token_requests)


def _tamper(server: OciRegistry, digest: str) -> None:
    """Change one byte of a stored blob, keeping its size."""
    blob = server.blob_file(digest)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))


async def test_a_tampered_chart_layer_is_refused(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("tamper-chart")
    with OciRegistry(folder / "registry") as server:
        server.push_chart(package_chart(folder, "victim", "1.0.0"))
        manifest = server.manifest("charts/victim", "1.0.0")
        _tamper(server, manifest["layers"][0]["digest"])
        with pytest.raises(FetchError, match="does not match its digest") as caught:
            await fetch_chart(server.url("charts"), "victim", "1.0.0", dest=tmp_path)
    assert caught.value.reason == "DigestMismatch"
    cached = list(tmp_path.rglob("*"))  # noqa: ASYNC240 - the test's own folder
    assert not any(p.name == "1.0.0" for p in cached)  # nothing unpacked or cached


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-artifact}\ndata: {tag: %s}\n"


async def test_manifests_from_an_artifact_by_tag_digest_and_range(
    registry: OciRegistry, tmp_path: Path
) -> None:
    url = registry.url("manifests/web")
    digests = {}
    for tag in ("v1.0.0", "v1.1.0", "v2.0.0"):
        files = {
            "app/configmap.yaml": CONFIGMAP % tag,
            "app/kustomization.yaml": "resources: [configmap.yaml]\n",
        }
        files["README.md"] = "not a manifest\n"
        digests[tag] = registry.push_artifact("manifests/web", tag, files)

    by_tag = await fetch_oci_artifact(url, "v1.1.0", "app", dest=tmp_path)
    assert by_tag.commit == digests["v1.1.0"]
    assert "tag: v1.1.0" in (by_tag.directory / "configmap.yaml").read_text()
    by_digest = await fetch_oci_artifact(url, digests["v1.0.0"], "app", dest=tmp_path)
    assert "tag: v1.0.0" in (by_digest.directory / "configmap.yaml").read_text()
    by_range = await fetch_oci_artifact(url, "^1.0", "app", dest=tmp_path)
    assert by_range.commit == digests["v1.1.0"]
    assert by_range.tree.startswith(f"oci:{digests['v1.1.0']}")
    missing = await fetch_oci_artifact(url, "v2.0.0", "nowhere", dest=tmp_path)
    assert missing.tree == ""  # the engine says the path does not exist, as for Git

    tools = RenderTools(kustomize=tool_path("kustomize"), helm=tool_path("helm"), timeout=60)
    result = await render(
        by_range.directory, root=by_range.root, params=RenderParams(), tools=tools,
        kube_version="v1.36.3", api_versions=[],
    )  # fmt: skip
    assert result.engine == "kustomize"
    assert [m["data"] for m in result.manifests] == [{"tag": "v1.1.0"}]
    only_configmaps = RenderParams(directory=DirectoryParams(include=("app/configmap.yaml",)))
    plain = await render(
        by_range.root, root=by_range.root, params=only_configmaps, tools=tools,
        kube_version="v1.36.3", api_versions=[],
    )  # fmt: skip
    assert [m["metadata"]["name"] for m in plain.manifests] == ["from-artifact"]


async def test_latest_is_the_default_tag(registry: OciRegistry, tmp_path: Path) -> None:
    digest = registry.push_artifact("manifests/default", "latest", {"cm.yaml": CONFIGMAP % "latest"})
    artifact = await fetch_oci_artifact(registry.url("manifests/default"), "HEAD", "", dest=tmp_path)
    assert artifact.commit == digest
    assert (artifact.root / "cm.yaml").is_file()


async def test_a_tampered_artifact_layer_is_refused(registry: OciRegistry, tmp_path: Path) -> None:
    registry.push_artifact("manifests/tampered", "v1", {"cm.yaml": CONFIGMAP % "v1" + "#" * 400})
    layer = registry.manifest("manifests/tampered", "v1")["layers"][0]
    _tamper(registry, layer["digest"])
    with pytest.raises(FetchError, match="does not match its digest") as caught:
        await fetch_oci_artifact(registry.url("manifests/tampered"), "v1", "", dest=tmp_path)
    assert caught.value.reason == "DigestMismatch"
    assert not (tmp_path / "oci-artifacts").exists() or not any((tmp_path / "oci-artifacts").iterdir())


async def test_hostile_or_foreign_artifacts_are_refused(registry: OciRegistry, tmp_path: Path) -> None:
    escape = make_tgz([("ok.yaml", b"a: 1\n", "file"), ("../../escape.yaml", b"x", "file")])
    registry.push_artifact("manifests/hostile", "v1", layer=escape)
    with pytest.raises(FetchError, match="unsafe path") as caught:
        await fetch_oci_artifact(registry.url("manifests/hostile"), "v1", "", dest=tmp_path)
    assert caught.value.reason == "ArtifactRejected"
    assert not list(tmp_path.rglob("escape.yaml"))  # noqa: ASYNC240 - the test's own folder

    with pytest.raises(FetchError, match="it is a Helm chart, name it with chart"):
        await fetch_oci_artifact(registry.url("charts/greeter"), "1.0.0", "", dest=tmp_path)
    registry.push_artifact(
        "manifests/other", "v1", {"a.yaml": "a: 1\n"}, config_media_type="application/x-other"
    )
    with pytest.raises(FetchError, match="application/x-other"):
        await fetch_oci_artifact(registry.url("manifests/other"), "v1", "", dest=tmp_path)
    registry.push_artifact("manifests/nolayer", "v1", {"a.yaml": "a: 1\n"}, layer_media_type="text/plain")
    with pytest.raises(FetchError, match=re.escape(f"no layer of type {FLUX_CONTENT} (it has: text/plain)")):
        await fetch_oci_artifact(registry.url("manifests/nolayer"), "v1", "", dest=tmp_path)
