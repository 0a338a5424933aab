"""Run the git CLI for network operations: bounded in time and output, errors scrubbed of secrets.

Why the CLI: it speaks every transport and auth scheme users have (smart HTTP, SSH with their
known_hosts, git://, file://) exactly as their own git does. Reads never go through here (pygit2 is
faster and has no process cost). Deliberately not here: deciding what to fetch (``gitcache``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

from gitward.core.errors import FetchError
from gitward.sources.credentials import GitCredentials, display_url, redact

OUTPUT_CAP = 1 << 20  # git's progress and errors are small; more than this is a misbehaving server
_ALLOWED_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://", "git+ssh://")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:[^/\\]")


def check_url(url: str) -> None:
    """Refuse URLs git could treat as options or as remote helpers (``ext::``, ``fd::``)."""
    if url.startswith("-") or any(c in url for c in "\n\r\0"):
        raise FetchError(f"invalid repository URL {display_url(url)!r}", reason="InvalidURL")
    if url.lower().startswith(_ALLOWED_SCHEMES) or _SCP_LIKE.match(url):
        return
    raise FetchError(
        f"unsupported repository URL {display_url(url)!r} (use https, http, ssh, git or file)",
        reason="InvalidURL",
    )


async def run_git(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float,  # noqa: ASYNC109 - on expiry the whole git process group is killed
    url: str,
    credentials: GitCredentials | None = None,
) -> str:
    """Run ``git args``; returns stdout, or raises FetchError with git's (redacted) last lines."""
    try:
        code, stdout, stderr = await run_git_checked(args, env=env, cwd=cwd, timeout=timeout)
    except TimeoutError:
        raise FetchError(
            f"git {args[0]} of {display_url(url)} timed out after {timeout:g}s", reason="FetchTimeout"
        ) from None
    if code != 0:
        detail = _last_lines(redact(stderr, credentials))
        raise FetchError(f"git {args[0]} of {display_url(url)} failed: {detail}")
    return stdout


async def run_git_checked(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float,  # noqa: ASYNC109 - on expiry the whole git process group is killed
) -> tuple[int, str, str]:
    """Run a local ``git args`` whose exit status is an answer, not a failure (``verify-commit``):
    (status, stdout, stderr). Bounded in time and output like every git run here: past ``timeout``
    the whole process group is killed and ``TimeoutError`` raised."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(_read_capped(process), timeout=timeout)
    except BaseException:
        _kill(process)
        await process.wait()
        raise
    code = process.returncode if process.returncode is not None else -1
    return code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


async def _read_capped(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = await asyncio.gather(_drain(process.stdout), _drain(process.stderr))
    await process.wait()
    return out, err


async def _drain(stream: asyncio.StreamReader) -> bytes:
    """Keep the first OUTPUT_CAP bytes; read and drop the rest so the child never blocks on a pipe."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < OUTPUT_CAP:
            kept += chunk[: OUTPUT_CAP - len(kept)]
    return bytes(kept)


def _kill(process: asyncio.subprocess.Process) -> None:
    # git spawns helpers (ssh, remote-https); kill the whole session so none is left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _last_lines(text: str, *, count: int = 4, width: int = 600) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = "; ".join(lines[-count:]) or "no error output"
    return detail[:width]
