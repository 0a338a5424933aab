"""``in-cluster`` without a Cluster object: the pod's service account, or one error naming both fixes."""

from __future__ import annotations

import json
from pathlib import Path

from gitward.cluster.incluster import in_cluster_kubeconfig, no_in_cluster_message
from gitward.cluster.kubeconfig import load_endpoint

POD_ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def _account(folder: Path, *, namespace: str | None = "gitward") -> Path:
    folder.mkdir(parents=True)
    (folder / "token").write_text("sa-token-value\n")
    if namespace is not None:
        (folder / "namespace").write_text(namespace)
    return folder


def test_a_pods_service_account_becomes_a_kubeconfig_that_names_the_token_file(tmp_path: Path) -> None:
    account = _account(tmp_path / "sa")
    text = in_cluster_kubeconfig(POD_ENV, account_dir=account)
    assert text is not None
    assert "sa-token-value" not in text  # the path, never the token
    config = tmp_path / "in-cluster.kubeconfig"
    config.write_text(text)
    endpoint = load_endpoint(config)
    assert endpoint.server == "https://10.96.0.1:443"
    assert endpoint.namespace == "gitward"
    assert json.loads(text)["users"][0]["user"]["tokenFile"] == str(account / "token")


def test_an_ipv6_service_host_is_bracketed(tmp_path: Path) -> None:
    account = _account(tmp_path / "sa", namespace=None)
    text = in_cluster_kubeconfig({"KUBERNETES_SERVICE_HOST": "fd00::1"}, account_dir=account)
    assert text is not None
    assert json.loads(text)["clusters"][0]["cluster"]["server"] == "https://[fd00::1]:443"


def test_outside_a_pod_there_is_no_kubeconfig(tmp_path: Path) -> None:
    assert in_cluster_kubeconfig(POD_ENV, account_dir=tmp_path / "none") is None
    assert in_cluster_kubeconfig({}, account_dir=_account(tmp_path / "sa")) is None


def test_the_error_names_the_apps_and_both_ways_to_fix_it(tmp_path: Path) -> None:
    message = no_in_cluster_message(["api", "web"], account_dir=tmp_path)
    assert "destination of api, web" in message
    assert "https://kubernetes.default.svc" in message
    assert "set KUBECONFIG" in message
    assert "service account" in message
    assert str(tmp_path / "token") in message
