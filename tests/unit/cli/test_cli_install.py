"""``gitward crds`` and ``gitward install``: what they print, and the refusal without a cluster."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from gitward.cli.main import app
from gitward.install import WORKLOAD_NOTE


def test_crds_prints_one_crd_per_kind() -> None:
    result = CliRunner().invoke(app, ["crds"])
    assert result.exit_code == 0
    documents = list(yaml.safe_load_all(result.output))
    assert {d["kind"] for d in documents} == {"CustomResourceDefinition"}
    assert "applications.gitward.dev" in {d["metadata"]["name"] for d in documents}


def test_install_export_prints_everything_with_the_note() -> None:
    result = CliRunner().invoke(app, ["install", "--export", "-n", "ops", "--replicas", "2"])
    assert result.exit_code == 0
    header = " ".join(line.lstrip("# ") for line in result.output.splitlines() if line.startswith("#"))
    assert WORKLOAD_NOTE in header
    documents = list(yaml.safe_load_all(result.output))
    kinds = {d["kind"] for d in documents}
    assert {"Namespace", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget"} <= kinds
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert deployment["metadata"]["namespace"] == "ops"
    assert deployment["spec"]["replicas"] == 2


def test_install_without_a_cluster_says_how_to_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    result = CliRunner().invoke(app, ["install"])
    assert result.exit_code == 1
    assert "--kubeconfig" in result.output
    assert "KUBECONFIG" in result.output


def test_install_refuses_a_bad_namespace() -> None:
    result = CliRunner().invoke(app, ["install", "--export", "-n", "Not_A_Namespace"])
    assert result.exit_code == 1
    assert "--namespace" in result.output
