"""Secrets reach git only through its environment, and are scrubbed from anything shown."""

from __future__ import annotations

from pathlib import Path

from gitward.sources.credentials import GitCredentials, display_url, git_environment, redact


def test_environment_carries_secrets_only_in_env_values(tmp_path: Path) -> None:
    creds = GitCredentials(username="u", password="pw-123", bearer_token="tok-456")
    env = git_environment(creds, helper_dir=tmp_path)
    assert env["GITWARD_ASKPASS_PASSWORD"] == "pw-123"
    headers = [env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))]
    assert "Authorization: Bearer tok-456" in headers
    askpass = Path(env["GIT_ASKPASS"]).read_text()
    assert "pw-123" not in askpass
    assert "tok-456" not in askpass
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "StrictHostKeyChecking=yes" in env["GIT_SSH_COMMAND"]


def test_ssh_command_uses_key_and_known_hosts(tmp_path: Path) -> None:
    creds = GitCredentials(ssh_private_key=tmp_path / "id key", known_hosts=tmp_path / "kh")
    command = git_environment(creds, helper_dir=tmp_path)["GIT_SSH_COMMAND"]
    assert f"'{tmp_path / 'id key'}'" in command
    assert f"UserKnownHostsFile={tmp_path / 'kh'}" in command
    assert "BatchMode=yes" in command


def test_repr_hides_secrets() -> None:
    text = repr(GitCredentials(username="u", password="pw-123", bearer_token="tok-456"))
    assert "pw-123" not in text
    assert "tok-456" not in text


def test_redact() -> None:
    creds = GitCredentials(password="pw-123")
    assert redact("fatal: pw-123 rejected", creds) == "fatal: *** rejected"
    assert display_url("https://user:pw@host/x.git") == "https://***@host/x.git"
    assert display_url("https://ghp_TOKEN@github.com/x") == "https://***@github.com/x"
    assert display_url("ssh://git@host/x.git") == "ssh://git@host/x.git"
