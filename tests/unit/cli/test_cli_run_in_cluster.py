"""``gitward run --config``: the ``in-cluster`` destination is set up in a pod whichever apps name it.

An ApplicationSet makes Applications the config does not list, so the pod's service account must be
there for them too (and for its clusters generator, which offers ``in-cluster`` only when it can be
reached). Outside a pod without KUBECONFIG, only the config's own Applications naming ``in-cluster``
stop the start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cli.client import CliError
from gitward.cli.run import _reach_in_cluster
from gitward.core.errors import ValidationError
from gitward.reconcile.registry import kubeconfig_of

API = "gitward.dev/v1alpha1"


def _appset_only(config: Path) -> Path:
    """A config whose only app comes from an ApplicationSet and deploys to ``in-cluster``."""
    appset = {
        "apiVersion": API,
        "kind": "ApplicationSet",
        "metadata": {"name": "envs"},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}]}}],
            "template": {
                "metadata": {"name": "web-{{env}}"},
                "spec": {
                    "source": {"repoURL": "https://git.example.com/apps.git", "path": "web"},
                    "destination": {"cluster": "in-cluster", "namespace": "web-{{env}}"},
                },
            },
        },
    }
    config.mkdir()
    (config / "appset.yaml").write_text(yaml.safe_dump(appset))
    return config


def _pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("token-of-the-pod")
    (account / "ca.crt").write_text("a CA")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return account


@pytest.fixture(autouse=True)
def _no_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "")  # unset for the code; put back afterwards whatever it wrote
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def test_in_a_pod_the_service_account_is_set_up_for_generated_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = _pod(tmp_path, monkeypatch)
    state = tmp_path / "state"
    state.mkdir()
    _reach_in_cluster(_appset_only(tmp_path / "config"), state, account_dir=account)
    written = state / "in-cluster.kubeconfig"
    assert os.environ["KUBECONFIG"] == str(written)
    kubeconfig: dict[str, Any] = json.loads(written.read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://10.0.0.1:443"
    assert kubeconfig["users"][0]["user"] == {"tokenFile": str(account / "token")}
    assert "token-of-the-pod" not in written.read_text()


def test_outside_a_pod_generated_apps_do_not_stop_the_start_and_named_ones_do(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _reach_in_cluster(_appset_only(tmp_path / "config"), state, account_dir=tmp_path / "none")
    assert not (state / "in-cluster.kubeconfig").exists()
    with pytest.raises(ValidationError, match="'in-cluster' cannot be reached: KUBECONFIG is not set"):
        kubeconfig_of({}, "in-cluster", config_folder=tmp_path)  # what a generated app's status says

    app = {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": "api"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/apps.git", "path": "api"},
            "destination": {"namespace": "api"},  # in-cluster by default
        },
    }
    (tmp_path / "config" / "api.yaml").write_text(yaml.safe_dump(app))
    with pytest.raises(CliError, match=r"'in-cluster' .*destination of api, cannot be reached"):
        _reach_in_cluster(tmp_path / "config", state, account_dir=tmp_path / "none")
