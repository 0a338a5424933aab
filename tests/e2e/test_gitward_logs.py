"""``gitward run``'s log as an operator reads it: ``--log-format json`` lines, ``--log-level``, the renderer
lines at start, the install hint when a renderer is missing, and ``in-cluster`` without credentials.

Each test starts its own short-lived process with tools hidden or named explicitly; no cluster is
needed (the config has no apps that deploy), and every process is stopped by its test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools import toolchain
from tests.e2e.process import GITWARD, free_port

from gitward.cluster.incluster import SERVICE_ACCOUNT_DIR

pytestmark = pytest.mark.e2e

CLUSTER = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "Cluster",
    "metadata": {"name": "elsewhere"},
    "spec": {"kubeconfig": "/nonexistent/kubeconfig"},
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No tool on PATH (an empty folder), none named by GITWARD_*: only what ``extra`` gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_") and k != "KUBECONFIG"}
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    env["PATH"] = str(tmp_path / "empty-bin")
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg")
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def _config(tmp_path: Path, documents: list[dict[str, Any]]) -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return config


class Run:
    """One ``gitward run``, its stdout and stderr kept in files."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *flags: str, program: Path = GITWARD) -> None:
        self.out = tmp_path / "stdout.txt"
        self.err = tmp_path / "stderr.txt"
        args = [str(program), "run", "--config", str(_config(tmp_path, [CLUSTER]))]
        args += ["--state", str(tmp_path / "state" / "state.db"), "--listen", f"127.0.0.1:{free_port()}"]
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen([*args, *flags], env=env, stdout=out, stderr=err)

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + 120
        while "admin token file" not in self.out.read_text(errors="replace"):
            code = self.process.poll()
            assert code is None, f"gitward run exited with {code}: {self.err.read_text(errors='replace')}"
            assert time.monotonic() < deadline, self.err.read_text(errors="replace")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=30)

    def lines(self) -> list[str]:
        return [line for line in self.err.read_text(errors="replace").splitlines() if line.strip()]


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()


def _start(runs: list[Run], tmp_path: Path, env: dict[str, str], *flags: str, program: Path = GITWARD) -> Run:
    run = Run(tmp_path, env, *flags, program=program)
    runs.append(run)
    run.wait_until_serving()
    return run


def test_json_lines_say_which_renderers_are_missing_and_how_to_install_them(
    tmp_path: Path, runs: list[Run]
) -> None:
    run = _start(runs, tmp_path, _env(tmp_path), "--log-format", "json")
    assert run.stop() == 0
    parsed = [json.loads(line) for line in run.lines()]  # every line is one JSON object
    for line in parsed:
        assert {"time", "level", "logger", "message"} <= set(line)
    renderers = {line["renderer"]: line for line in parsed if "renderer" in line}
    assert set(renderers) == {"helm", "kustomize", "jsonnet"}
    for name, line in renderers.items():
        assert line["found"] is False
        assert line["level"] == "warning"
        assert f"renderer {name} missing" in line["message"]
        assert f"install {name} {line['supported']}" in line["message"]
        assert f"GITWARD_{name.upper()}" in line["message"]
    assert any(line["message"].startswith("gitward API listening on") for line in parsed)


def test_found_renderers_are_logged_with_path_and_version(tmp_path: Path, runs: list[Run]) -> None:
    helm, kustomize = toolchain.tool_path("helm"), toolchain.tool_path("kustomize")
    jsonnet = toolchain.tool_path("jsonnet")
    env = _env(
        tmp_path, GITWARD_HELM=str(helm), GITWARD_KUSTOMIZE=str(kustomize), GITWARD_JSONNET=str(jsonnet)
    )
    run = _start(runs, tmp_path, env, "--log-format", "json")
    run.stop()
    renderers = {line["renderer"]: line for line in map(json.loads, run.lines()) if "renderer" in line}
    assert renderers["helm"]["path"] == str(helm)
    assert renderers["helm"]["version"].startswith(toolchain.HELM_VERSION)
    assert renderers["kustomize"]["path"] == str(kustomize)
    assert renderers["kustomize"]["version"].startswith(toolchain.KUSTOMIZE_VERSION)
    assert renderers["jsonnet"]["path"] == str(jsonnet)
    assert toolchain.JSONNET_VERSION.lstrip("v") in renderers["jsonnet"]["version"]
    assert {line["level"] for line in renderers.values()} == {"info"}
    assert all(line["found"] for line in renderers.values())


def test_a_renderer_next_to_the_gitward_executable_is_found(tmp_path: Path, runs: list[Run]) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "gitward").symlink_to(GITWARD)  # the folder of argv[0] as started
    (bundle / "helm").symlink_to(toolchain.tool_path("helm"))
    run = _start(runs, tmp_path, _env(tmp_path), "--log-format", "json", program=bundle / "gitward")
    run.stop()
    renderers = {line["renderer"]: line for line in map(json.loads, run.lines()) if "renderer" in line}
    assert renderers["helm"]["found"] is True
    assert renderers["helm"]["path"] == str(bundle / "helm")
    assert renderers["kustomize"]["found"] is False


def test_warning_level_hides_the_info_lines(tmp_path: Path, runs: list[Run]) -> None:
    run = _start(runs, tmp_path, _env(tmp_path), "--log-format", "json", "--log-level", "warning")
    run.stop()
    parsed = [json.loads(line) for line in run.lines()]
    assert {line["level"] for line in parsed} <= {"warning", "error", "critical"}
    assert {line.get("renderer") for line in parsed} >= {"helm", "kustomize"}  # missing: warnings
    assert not any(line["message"].startswith("gitward API listening") for line in parsed)


def test_console_lines_carry_the_fields_as_key_value(tmp_path: Path, runs: list[Run]) -> None:
    run = _start(runs, tmp_path, _env(tmp_path))  # console is the default
    run.stop()
    helm = next(line for line in run.lines() if "renderer helm missing" in line)
    assert " WARNING gitward.run: " in helm
    assert "renderer=helm found=false" in helm


def test_a_helm_chart_rendered_without_helm_fails_with_the_install_hint(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    done = subprocess.run(
        [str(GITWARD), "render", str(chart)], env=_env(tmp_path), capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "RenderToolMissing" in done.stderr or "could not be started" in done.stderr
    assert "install helm >=" in " ".join(done.stderr.split())


@pytest.mark.skipif(SERVICE_ACCOUNT_DIR.joinpath("token").exists(), reason="runs inside a pod")
def test_in_cluster_without_kubeconfig_or_service_account_stops_with_one_error(tmp_path: Path) -> None:
    app = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/org/apps.git", "revision": "main", "path": "web"},
            "destination": {"namespace": "web"},  # the default cluster: in-cluster
        },
    }
    args = [str(GITWARD), "run", "--config", str(_config(tmp_path, [app]))]
    args += ["--state", str(tmp_path / "state" / "state.db"), "--listen", f"127.0.0.1:{free_port()}"]
    done = subprocess.run(args, env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert "'in-cluster'" in message
    assert "destination of web" in message
    assert "set KUBECONFIG" in message
    assert "service account" in message
