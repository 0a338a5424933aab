"""``gitward crds`` and ``gitward install``: what they print, and the refusal without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gitward.cli import install as install_module
from gitward.cli.main import app
from gitward.install import WORKLOAD_NOTE


def test_crds_prints_one_crd_per_kind() -> None:
    result = CliRunner().invoke(app, ["crds"])
    assert result.exit_code == 0
    documents = list(yaml.safe_load_all(result.output))
    assert {d["kind"] for d in documents} == {"CustomResourceDefinition"}
    assert "applications.gitward.dev" in {d["metadata"]["name"] for d in documents}


def test_install_export_prints_everything_with_the_note() -> None:
    state = "postgresql://gitward@db.example:5432/gitward"
    result = CliRunner().invoke(
        app, ["install", "--export", "-n", "ops", "--replicas", "2", "--state", state]
    )
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


def test_install_applies_the_workload_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    applied: list[list[str]] = []

    async def fake_apply(kubeconfig: Path, manifests: tuple[dict[str, Any], ...]) -> list[str]:
        applied.append([m["kind"] for m in manifests])
        return []

    monkeypatch.setattr(install_module, "_apply", fake_apply)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    assert CliRunner().invoke(app, ["install", "--kubeconfig", str(kubeconfig)]).exit_code == 0
    assert (
        CliRunner().invoke(app, ["install", "--kubeconfig", str(kubeconfig), "--no-workload"]).exit_code == 0
    )
    workload = {"Deployment", "Service", "PodDisruptionBudget"}
    assert workload <= set(applied[0])
    assert not workload & set(applied[1])
    assert set(applied[0]) - workload == set(applied[1])


def test_install_refuses_several_replicas_without_a_shared_postgresql_state() -> None:
    result = CliRunner().invoke(app, ["install", "--export", "--replicas", "3"])
    assert result.exit_code != 0
    assert "--replicas 3: more than one replica needs a state database they share" in result.output
    assert "postgresql://USER@HOST:PORT/DB" in result.output


def test_install_refuses_a_state_url_holding_a_password_without_showing_it() -> None:
    state = "postgresql://gitward:s3cr3t-pw@db.example/gitward"
    result = CliRunner().invoke(app, ["install", "--export", "--replicas", "2", "--state", state])
    assert result.exit_code != 0
    assert "carries a password" in result.output
    assert "s3cr3t-pw" not in result.output


def test_install_with_a_postgresql_state_runs_the_pods_as_replicas() -> None:
    state = "postgresql://gitward@db.example:5432/gitward"
    args = ["install", "--export", "--replicas", "3", "--state", state, "--state-secret", "gitward-db"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (deployment,) = [d for d in yaml.safe_load_all(result.output) if d and d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["spec"]["replicas"] == 3
    assert container["args"][container["args"].index("--state") + 1] == state
    assert "--ha" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "gitward-db", "key": "password"}
