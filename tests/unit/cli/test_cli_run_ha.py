"""``gitward run --ha``: one of several replicas needs a state database they share, a replica id that
can name a Lease, and its options only with ``--ha``; each refusal comes before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gitward.cli import ha
from gitward.cli.client import CliError
from gitward.cli.main import app


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "apps"
    config.mkdir()
    return config


def test_ha_with_a_sqlite_state_is_refused_before_anything_is_written(
    runner: CliRunner, tmp_path: Path, state_home: Path
) -> None:
    result = runner.invoke(app, ["run", "--config", str(_config(tmp_path)), "--ha"])
    assert result.exit_code != 0
    assert "--ha needs a state database the replicas share: --state postgresql://" in result.output
    assert not state_home.exists()


@pytest.mark.parametrize(
    "option", [["--replica-id", "gw-a"], ["--lease-namespace", "ops"], ["--lease-duration", "5"]]
)
def test_replica_options_without_ha_are_refused(
    runner: CliRunner, tmp_path: Path, state_home: Path, option: list[str]
) -> None:
    result = runner.invoke(app, ["run", "--config", str(_config(tmp_path)), *option])
    assert result.exit_code != 0
    assert f"{option[0]} go with --ha" in result.output
    assert not state_home.exists()


def test_kubeconfig_with_a_file_config_needs_ha(runner: CliRunner, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    result = runner.invoke(app, ["run", "--config", str(_config(tmp_path)), "--kubeconfig", str(kubeconfig)])
    assert result.exit_code != 0
    assert "--kubeconfig goes with --from-cluster or --ha" in result.output


def test_the_replica_id_defaults_to_the_pod_name_and_must_be_a_dns_label() -> None:
    assert ha.replica_id(None, {"POD_NAME": "gitward-7d9f-x2x"}) == "gitward-7d9f-x2x"
    assert ha.replica_id("gw-a", {"POD_NAME": "ignored"}) == "gw-a"
    for bad in ("GW-A", "gw_a", "-gw", "a" * 64, "gw.a"):
        with pytest.raises(CliError, match="is not a DNS label"):
            ha.replica_id(bad, {})


def test_the_lease_namespace_defaults_to_the_pods_then_gitward(tmp_path: Path) -> None:
    assert ha.lease_namespace("ops", account_dir=tmp_path) == "ops"
    assert ha.lease_namespace(None, account_dir=tmp_path) == "gitward"
    (tmp_path / "namespace").write_text("platform\n")
    assert ha.lease_namespace(None, account_dir=tmp_path) == "platform"


def test_the_announced_address_is_the_pods_ip_else_the_listen_address() -> None:
    assert (
        ha.advertised_address("0.0.0.0", 8080, secure=False, environ={"POD_IP": "10.1.2.3"})  # noqa: S104
        == "http://10.1.2.3:8080"
    )
    assert ha.advertised_address("127.0.0.1", 9000, secure=True, environ={}) == "https://127.0.0.1:9000"
    assert ha.advertised_address("::1", 80, secure=False, environ={}) == "http://[::1]:80"
