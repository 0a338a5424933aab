"""Kubeconfig reading: credential plugins are refused with a clear error; tokens never leak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitward.cluster.kubeconfig import KubeconfigError, load_endpoint
from gitward.cluster.lightkube_client import LightkubeClient

TOKEN = "s3cr3t-token-value"


def _write(tmp_path: Path, user: dict[str, Any], *, server: str = "https://127.0.0.1:6443") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "main", "context": {"cluster": "c", "user": "u", "namespace": "apps"}},
            {"name": "other", "context": {"cluster": "c", "user": "u"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_exec_plugin_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "touch",
            "args": [str(marker)],
        }
    }
    path = _write(tmp_path, user)
    with pytest.raises(KubeconfigError, match="exec credential plugin"):
        load_endpoint(path)
    assert not marker.exists()


async def test_exec_plugin_is_refused_by_the_client_constructor(tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws"}}
    with pytest.raises(KubeconfigError, match="never runs credential plugins"):
        await LightkubeClient.from_kubeconfig(_write(tmp_path, user))


def test_auth_provider_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"auth-provider": {"name": "gcp", "config": {}}})
    with pytest.raises(KubeconfigError, match="auth-provider"):
        load_endpoint(path)


def test_token_context_and_namespace(tmp_path: Path) -> None:
    endpoint = load_endpoint(_write(tmp_path, {"token": TOKEN}))
    assert endpoint.server == "https://127.0.0.1:6443"
    assert endpoint.context == "main"
    assert endpoint.namespace == "apps"
    assert endpoint.auth is not None
    request = httpx.Request("GET", "https://127.0.0.1:6443/version")
    flow = endpoint.auth.sync_auth_flow(request)
    assert next(flow).headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(endpoint)
    other = load_endpoint(_write(tmp_path, {"token": TOKEN}), "other")
    assert other.namespace == "default"


def test_token_file_is_read_again_after_401(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    endpoint = load_endpoint(_write(tmp_path, {"tokenFile": str(token_file)}))
    assert endpoint.auth is not None
    flow = endpoint.auth.sync_auth_flow(httpx.Request("GET", "https://x/"))
    assert next(flow).headers["Authorization"] == "Bearer first"
    token_file.write_text("second\n")
    retried = flow.send(httpx.Response(401))
    assert retried.headers["Authorization"] == "Bearer second"


def test_unknown_context_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="nope"):
        load_endpoint(_write(tmp_path, {"token": TOKEN}), "nope")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        load_endpoint(tmp_path / "absent")
    assert TOKEN not in str(info.value)
