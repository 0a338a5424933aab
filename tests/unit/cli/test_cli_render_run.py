"""`gitward render` wiring and output, and `gitward run`'s argument handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import gitward.render
from gitward.cli.client import CliError
from gitward.cli.main import app
from gitward.cli.run import parse_listen
from gitward.core.errors import RenderError

MANIFESTS = (
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"mode": "0644"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}},
)


@pytest.fixture
def fake_render(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def render_local(path: Path, *, helm_values: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
        calls.append({"path": path, "helm_values": helm_values})
        if path.name == "bad":
            raise RenderError("kustomization.yaml: invalid YAML at line 3")
        return [dict(m) for m in MANIFESTS]

    monkeypatch.setattr(gitward.render, "render_local", render_local, raising=False)
    return calls


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_render_prints_manifests(
    runner: CliRunner, tmp_path: Path, fake_render: list[dict[str, Any]], fmt: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicaCount: 2\n")
    result = runner.invoke(app, ["render", str(tmp_path), "--helm-values", str(values), "-o", fmt])
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout) if fmt == "json" else list(yaml.safe_load_all(result.stdout))
    assert docs == [dict(m) for m in MANIFESTS]
    assert fake_render == [{"path": tmp_path, "helm_values": (values,)}]


def test_render_error_is_one_line(
    runner: CliRunner, tmp_path: Path, fake_render: list[dict[str, Any]]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    result = runner.invoke(app, ["render", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: RenderFailed: kustomization.yaml: invalid YAML at line 3"


def test_render_real_plain_directory_keeps_yaml_1_1_octals(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {mode: 0644}\n"
    )
    result = runner.invoke(app, ["render", str(tmp_path), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"mode": 420}}
    ]


def test_render_real_refuses_escaping_symlink(runner: CliRunner, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: hidden-value}\n")
    inside = tmp_path / "repo"
    inside.mkdir()
    (inside / "link.yaml").symlink_to(outside)
    result = runner.invoke(app, ["render", str(inside)])
    assert result.exit_code == 1
    assert "symlink" in result.stderr
    assert "hidden-value" not in result.output


def test_render_refuses_unknown_format(runner: CliRunner, tmp_path: Path, fake_render: list[Any]) -> None:
    result = runner.invoke(app, ["render", str(tmp_path), "-o", "xml"])
    assert result.exit_code == 1
    assert "-o must be yaml or json" in result.stderr
    assert fake_render == []


def test_render_needs_an_existing_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(tmp_path / "nope")])
    assert result.exit_code != 0


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),  # noqa: S104 - parsing only, nothing binds
        ("[::1]:9000", ("::1", 9000)),
        (":8081", ("127.0.0.1", 8081)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8080", "host:", "host:http", "host:70000"])
def test_parse_listen_refuses(listen: str) -> None:
    with pytest.raises(CliError, match="--listen must be HOST:PORT"):
        parse_listen(listen)


def test_run_refuses_bad_listen_before_starting(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "apps"
    config.mkdir()
    result = runner.invoke(app, ["run", "--config", str(config), "--listen", "nowhere"])
    assert result.exit_code == 1
    assert "--listen must be HOST:PORT" in result.stderr
    assert not (tmp_path / "xdg-state" / "gitward" / "state.token").exists()


def test_run_requires_an_existing_config(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--config", str(tmp_path / "missing")])
    assert result.exit_code != 0
