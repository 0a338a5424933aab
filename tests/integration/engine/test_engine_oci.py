"""A chart from an OCI registry, synced by the in-process engine into the real cluster.

The registry is the real distribution registry with Basic authentication; the charts are pushed by the
real ``helm push``; the credentials come from a Repository object whose password file is read at use.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.ociregistry import PASSWORD, USERNAME, OciRegistry, package_chart
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "oci-wrong-password-7d1c"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[OciRegistry]:
    with OciRegistry(tmp_path / "registry", auth="htpasswd") as server:
        yield server


def _password_file(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


async def test_chart_from_an_oci_registry_by_range_with_credentials(
    harness: Harness, registry: OciRegistry, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    chart = unique("ocichart")
    for version in ("1.0.0", "1.4.0", "2.0.0"):
        registry.push_chart(package_chart(tmp_path / "charts", chart, version))
    password = _password_file(tmp_path / "secrets" / "password", WRONG_PASSWORD)
    credentials = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": "registry"},
        "spec": {"url": f"oci://{registry.host}/", "username": USERNAME, "passwordFile": str(password)},
    }
    name = unique("oci")
    source = {"chart": chart, "revision": ">=1.0.0 <2.0.0", "helm": {"values": {"greeting": "hej"}}}
    app = application(name, repo=registry.url("charts"), path="", namespace=namespace, source=source)
    harness.configure(credentials, app)
    engine = await harness.start()

    def refused() -> bool:
        ready = [c for c in harness.app(name)["conditions"] if c["type"] == "Ready"]
        return bool(ready and ready[0]["status"] == "False" and ready[0]["reason"] == "Unauthorized")

    await harness.until(refused)
    summary = harness.app(name)
    shown = json.dumps(summary) + json.dumps(engine.events(name))
    assert WRONG_PASSWORD not in shown
    assert f"registry {registry.host} refused the credentials of the Repository" in summary["message"]
    assert kube_cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name", check=False) == ""

    _password_file(password, PASSWORD)  # credentials are read at use: no restart
    await engine.refresh_app(name)
    await harness.until(lambda: harness.is_synced_healthy(name))
    live = kube_cluster.get_json("configmap", f"{name}-config", "-n", namespace)["data"]
    assert live == {"greeting": "hej", "chartVersion": "1.4.0"}  # 2.0.0 is outside the range
    assert harness.app(name)["sync"]["revision"] == "1.4.0"

    registry.push_chart(package_chart(tmp_path / "charts", chart, "1.5.0"))
    await engine.refresh_app(name)
    await harness.until(lambda: harness.app(name)["sync"]["revision"] == "1.5.0")
    live = kube_cluster.get_json("configmap", f"{name}-config", "-n", namespace)["data"]
    assert live["chartVersion"] == "1.5.0"


async def test_manifests_from_an_oci_artifact(
    harness: Harness, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    with OciRegistry(tmp_path / "open") as registry:
        files = {"deploy/config.yaml": configmap("from-artifact", {"tag": "v1.1.0"})}
        digest = registry.push_artifact("manifests/web", "v1.1.0", files)
        registry.push_artifact("manifests/web", "v2.0.0", {"deploy/config.yaml": configmap("x", {})})
        name = unique("artifact")
        app = application(
            name, repo=registry.url("manifests/web"), path="deploy", namespace=namespace,
            source={"revision": "^1.0"},
        )  # fmt: skip
        harness.configure(app)
        await harness.start()
        await harness.until(lambda: harness.is_synced_healthy(name), within=60)
        live = kube_cluster.get_json("configmap", "from-artifact", "-n", namespace)["data"]
        assert live == {"tag": "v1.1.0"}
        assert harness.app(name)["sync"]["revision"] == digest
