"""Credentials for Git and Helm repositories, and the environment that hands them to the git CLI.

Secrets never travel in URLs, argv, logs or error messages: the password reaches git through a
``GIT_ASKPASS`` helper that reads it from the child's environment, a bearer token through an
``http.extraHeader`` set with ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, and SSH
keys by path in ``GIT_SSH_COMMAND``. SSH always checks host keys strictly (an unknown host is refused,
never trusted on first use). The user's and the system's git config are ignored so a credential helper
or an ``insteadOf`` rule on the machine cannot change what gitward fetches.

Deliberately not here: reading credentials from Secrets or files (the caller resolves them) and
running git (see ``gitcli``).
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gitward.core.redact import MASK, redact_text, redact_url

_ASKPASS_SCRIPT = """#!/bin/sh
# Answers git's prompts from the environment so secrets never appear in argv.
case "$1" in
  Username*) printf '%s\\n' "$GITWARD_ASKPASS_USERNAME" ;;
  *) printf '%s\\n' "$GITWARD_ASKPASS_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class GitCredentials:
    """How to authenticate to one repository; ``repr`` never shows the secrets."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    ssh_private_key: Path | None = None
    known_hosts: Path | None = None

    def secrets(self) -> tuple[str, ...]:
        """The secret strings, for scrubbing them out of any text shown to anyone."""
        return tuple(s for s in (self.password, self.bearer_token) if s)


def askpass_helper(directory: Path) -> Path:
    """Write (once) the askpass script under ``directory``; it holds no secret itself."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "askpass.sh"
    if not path.exists() or path.read_text() != _ASKPASS_SCRIPT:
        tmp = directory / f".askpass.{os.getpid()}"
        tmp.write_text(_ASKPASS_SCRIPT)
        tmp.chmod(stat.S_IRWXU)
        tmp.replace(path)
    return path


def ssh_command(credentials: GitCredentials | None, *, connect_timeout: int = 30) -> str:
    """``GIT_SSH_COMMAND`` with strict host key checking and no interactive prompts."""
    parts = [
        "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={connect_timeout}", "-o", "ServerAliveInterval=15",
    ]  # fmt: skip
    if credentials is not None and credentials.ssh_private_key is not None:
        parts += ["-i", str(credentials.ssh_private_key), "-o", "IdentitiesOnly=yes"]
    if credentials is not None and credentials.known_hosts is not None:
        parts += [
            "-o",
            f"UserKnownHostsFile={credentials.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
        ]
    return shlex.join(parts)


def git_environment(
    credentials: GitCredentials | None, *, helper_dir: Path, connect_timeout: int = 30
) -> dict[str, str]:
    """The full environment for one git network command (inherits only PATH, HOME and locale-free)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_SSH_COMMAND": ssh_command(credentials, connect_timeout=connect_timeout),
        "GIT_ASKPASS": str(askpass_helper(helper_dir)),
        "GITWARD_ASKPASS_USERNAME": "",
        "GITWARD_ASKPASS_PASSWORD": "",
    }
    config: list[tuple[str, str]] = [
        ("credential.helper", ""),  # no helper may store or supply credentials behind our back
        ("protocol.ext.allow", "never"),
        ("http.lowSpeedLimit", "1000"),
        ("http.lowSpeedTime", str(connect_timeout)),
    ]
    if credentials is not None:
        if credentials.username is not None:
            env["GITWARD_ASKPASS_USERNAME"] = credentials.username
        if credentials.password is not None:
            env["GITWARD_ASKPASS_PASSWORD"] = credentials.password
        if credentials.bearer_token is not None:
            config.append(("http.extraHeader", f"Authorization: Bearer {credentials.bearer_token}"))
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def redact(text: str, credentials: GitCredentials | None = None) -> str:
    """``text`` with URL credentials (``core/redact.py``) and every known secret masked."""
    out = redact_text(text)
    for secret in credentials.secrets() if credentials else ():
        out = out.replace(secret, MASK)
    return out


def display_url(url: str) -> str:
    """The URL as it may be shown: user info that may be secret masked."""
    return redact_url(url)
