"""Credentials in a URL never reach what a user sees: not ``app get``/``app list``, not the API, not
the log, not a fetch error.

Two apps: ``leaky`` writes a password in its repoURL (refused at load: its error names the field and
shows the URL masked); ``named`` writes a user name that is really a short token gitward cannot tell
from a name (accepted, then shown masked everywhere, its failing fetch included).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from tests.e2e.process import GitwardProcess, application, free_port

pytestmark = pytest.mark.e2e

PASSWORD = "pw-Q7ffG2kx"
SHORT_TOKEN = "Zx9kQ2mN7pL4w"  # too short for a token pattern: taken for a user name


@pytest.fixture(scope="module")
def gitward(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[GitwardProcess]:
    root = tmp_path_factory.mktemp("urlcreds")
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there: every fetch fails
    cluster = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "local"},
        "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
    }
    apps = [
        application("leaky", repo=f"http://deployer:{PASSWORD}@{closed}/org/r.git", path="a", namespace="a",
                    self_heal=False),
        application("named", repo=f"http://{SHORT_TOKEN}@{closed}/org/r.git", path="a", namespace="a",
                    self_heal=False),
    ]  # fmt: skip
    config = root / "config"
    config.mkdir()
    (config / "gitward.yaml").write_text(yaml.safe_dump_all([cluster, *apps], sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env.update(XDG_STATE_HOME=str(root / "xdg"), NO_COLOR="1", COLUMNS="200")
    process = GitwardProcess(root=root, env=env, port=free_port())
    process.start(config)
    try:
        yield process
    finally:
        process.kill()


def _api_apps(gw: GitwardProcess) -> str:
    info = json.loads(gw.server_json.read_text())
    request = urllib.request.Request(  # noqa: S310 - the loopback URL of the server under test
        info["url"] + "/api/v1/apps", headers={"Authorization": f"Bearer {gw.token()}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(response.read().decode())


def test_a_password_in_a_repo_url_is_refused_naming_the_field(gitward: GitwardProcess) -> None:
    summary = gitward.app("leaky")
    assert "spec.source.repoURL" in summary["message"]
    assert "http://***@127.0.0.1:" in summary["message"]
    assert "holds a password" in summary["message"]


def test_a_user_name_is_masked_in_app_get_and_in_the_fetch_error(gitward: GitwardProcess) -> None:
    gitward.until(lambda: "http://***@127.0.0.1:" in gitward.app("named")["message"])
    summary = gitward.app("named")
    assert summary["repoURL"].startswith("http://***@127.0.0.1:")
    assert "failed" in summary["message"]  # the fetch error itself, with the URL masked


def test_no_output_holds_a_credential(gitward: GitwardProcess) -> None:
    gitward.ok("app", "list")
    gitward.ok("app", "list", "-o", "json")
    gitward.cli("app", "get", "leaky")
    gitward.ok("app", "get", "named")
    outputs = [*gitward.outputs, _api_apps(gitward), gitward.log_text()]
    assert "http://***@127.0.0.1:" in gitward.log_text()  # the log did mention the URLs, masked
    for secret in (PASSWORD, SHORT_TOKEN):
        assert not [text for text in outputs if secret in text]
