"""``gitward bootstrap`` refuses bad arguments before it reaches the cluster or Git."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gitward.cli.main import app as cli

SECRET_VALUE = "pw-4d1a-secret"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["bootstrap", *args, "--kubeconfig", "/nonexistent/kubeconfig"])
    return result.exit_code, result.output


def test_a_repo_url_holding_a_password_is_refused_masked() -> None:
    code, output = _run(
        "--repo", f"https://deploy:{SECRET_VALUE}@git.example/fleet.git", "--path", "clusters/a"
    )
    assert code == 1
    assert "holds a password: give credentials with --username" in output
    assert SECRET_VALUE not in output


@pytest.mark.parametrize(
    ("path", "message"),
    [("", "not its root"), ("../up", "must not contain '..'"), ("/abs", "relative to the repository root")],
)
def test_a_path_outside_the_repository_or_its_root_is_refused(path: str, message: str) -> None:
    code, output = _run("--repo", "https://git.example/fleet.git", "--path", path)
    assert code == 1
    assert message in output


def test_an_ssh_key_without_known_hosts_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("not a real key\n")
    code, output = _run(
        *("--repo", "ssh://git@git.example/fleet.git", "--path", "clusters/a"),
        *("--ssh-key-file", str(key)),
    )
    assert code == 1
    assert "--known-hosts-file" in output


def test_a_password_file_without_a_user_name_is_refused(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text(SECRET_VALUE)
    code, output = _run(
        *("--repo", "https://git.example/fleet.git", "--path", "clusters/a"),
        *("--password-file", str(password)),
    )
    assert code == 1
    assert "--password-file needs --username" in output
    assert SECRET_VALUE not in output
