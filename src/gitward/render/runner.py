"""Run the render tools: jailed, minimal environment, a timeout that kills, capped output and memory.

Each run gets an environment built from nothing but a PATH and a private HOME inside the render's
temporary directory: no KUBECONFIG, no user plugins, no Helm repositories or registry logins, no
kustomize plugin home. Given a ``Confinement``, the tool runs inside the jail (``jail``: no network,
no file but the render's copies) unless the settings say ``sandbox="off"``; a jail that cannot be
made refuses the render (``SandboxUnavailable``), it never falls back to running unjailed. The tool
runs in its own process group, so on timeout the whole group (including anything it spawned) is
killed with SIGKILL before the error is raised (docs/reliability.md, row F6). Output beyond the
caps kills the tool too; a tool that floods stdout must not exhaust memory. Its own memory is capped
as well: the tool starts under ``/bin/sh``'s ``ulimit -d`` (RLIMIT_DATA, which bounds the heap a Go
program grows and which bwrap and the tool inherit), so a runaway render stops with "ran out of
memory" instead of taking the host's memory.

Deliberately not here: what arguments the tools get (``kustomize`` and ``helm`` modules).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitward.core.errors import RenderError
from gitward.render.jail import Confinement, jailed_argv, unavailable
from gitward.render.params import DEFAULT_SETTINGS, RenderSettings
from gitward.render.tools import install_hint

_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_JAIL_PREFIX = "bwrap: "
_MESSAGE_LIMIT = 2000
_SHELL = "/bin/sh"
# what a program says when an allocation fails: Go's runtime, the C library, Python
_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "memoryerror", "bad_alloc")


def tool_environment(home: Path) -> dict[str, str]:
    """A fresh environment whose every config and cache folder is inside ``home``."""
    return {
        "PATH": _SAFE_PATH,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
        "HELM_PLUGINS": str(home / "helm-plugins"),
        "HELM_REGISTRY_CONFIG": str(home / "helm-config" / "registry.json"),
        "HELM_REPOSITORY_CONFIG": str(home / "helm-config" / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(home / "helm-cache" / "repository"),
        "KUSTOMIZE_PLUGIN_HOME": str(home / "kustomize-plugins"),
        "GIT_TERMINAL_PROMPT": "0",
    }


@dataclass(frozen=True)
class ToolOutput:
    stdout: bytes
    stderr: str


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > cap:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _clean(text: str, scrub: dict[str, str]) -> str:
    """Tool messages with temporary paths replaced by what the user knows, and shortened."""
    for raw, shown in scrub.items():
        text = text.replace(raw, shown)
    text = text.strip()
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "..."


async def _communicate(
    process: asyncio.subprocess.Process, *, name: str, time_limit: float, settings: RenderSettings
) -> tuple[bytes, bytes, int]:
    """Read both streams and wait, all within ``time_limit``; kill the group on any way out."""
    assert process.stdout is not None
    assert process.stderr is not None

    async def read(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, bool]:
        # a stream over its cap kills the tool at once: blocked on the pipe nobody reads any more,
        # it would otherwise hold the other stream open until the time limit
        data, over = await _read_capped(stream, cap)
        if over:
            _kill_group(process)
            while await stream.read(65536):  # to the end, so the pipe is closed with the process
                pass
        return data, over

    try:
        async with asyncio.timeout(time_limit):
            (stdout, out_over), (stderr, err_over) = await asyncio.gather(
                read(process.stdout, settings.max_output_bytes),
                read(process.stderr, settings.max_stderr_bytes),
            )
            if out_over or err_over:
                raise RenderError(f"{name} output is larger than {settings.max_output_bytes} bytes")
            code = await process.wait()
    except TimeoutError:
        raise RenderError(
            f"{name} timed out after {time_limit:g}s and was killed", reason="RenderTimeout"
        ) from None
    finally:
        if process.returncode is None:
            _kill_group(process)
            await process.wait()
    return stdout, stderr, code


def _locate(program: str, *, name: str) -> str:
    """``program`` as a path (a bare name is looked up on the tools' PATH), refused when missing."""
    found = shutil.which(program, path=_SAFE_PATH) if "/" not in program else program
    if found is None or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise RenderError(
            _with_hint(f"{name} could not be started: {program} is not an executable file", name),
            reason="RenderToolMissing",
        )
    return found


def with_memory_limit(argv: list[str], limit: int) -> list[str]:
    """``argv`` started by ``/bin/sh`` under ``ulimit -d`` (KiB); a hard limit already lower stays."""
    if limit <= 0:
        return argv
    script = f'ulimit -d {max(limit // 1024, 1)} 2>/dev/null; exec "$@"'
    return [_SHELL, "-c", script, "sh", *argv]


def _failure(name: str, code: int, message: str, settings: RenderSettings) -> RenderError:
    lowered = message.lower()
    if settings.max_memory_bytes > 0 and any(sign in lowered for sign in _OUT_OF_MEMORY):
        return RenderError(
            f"{name} ran out of memory (each render tool may use {settings.max_memory_bytes} bytes) "
            "and was stopped",
            reason="RenderMemoryLimit",
        )
    return RenderError(f"{name} failed (exit {code}): {message or 'no message'}")


def _with_hint(message: str, name: str) -> str:
    """``message`` and, for a renderer, how to install it (the same words as ``gitward run``'s start)."""
    hint = install_hint(name)
    return f"{message}; {hint}" if hint else message


async def run_tool(
    argv: list[str],
    *,
    name: str,
    home: Path,
    cwd: Path,
    time_limit: float,
    settings: RenderSettings = DEFAULT_SETTINGS,
    scrub: dict[str, str] | None = None,
    confinement: Confinement | None = None,
    extra_env: dict[str, str] | None = None,
) -> ToolOutput:
    """Run ``argv`` (jailed when ``confinement`` is given and the sandbox is not off); its stdout
    on success, else a RenderError with the tool's own message."""
    argv = [_locate(argv[0], name=name), *argv[1:]]
    jailed = confinement is not None and settings.sandbox != "off"
    if confinement is not None and jailed:
        argv = jailed_argv(argv, confinement, name=name)
    argv = with_memory_limit(argv, settings.max_memory_bytes)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={**tool_environment(home), **(extra_env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise RenderError(
            _with_hint(f"{name} could not be started: {exc.strerror}", name), reason="RenderToolMissing"
        ) from None
    stdout, stderr, code = await _communicate(process, name=name, time_limit=time_limit, settings=settings)
    message = _clean(stderr.decode("utf-8", "replace"), scrub or {})
    if code != 0:
        if jailed and message.startswith(_JAIL_PREFIX):
            # bwrap's own messages: the jail was not made, the tool never ran
            raise unavailable(name, message.splitlines()[0].removeprefix(_JAIL_PREFIX))
        raise _failure(name, code, message, settings)
    return ToolOutput(stdout=stdout, stderr=message)


_versions: dict[tuple[str, int, int], str] = {}


async def tool_version(binary: Path, *, name: str, args: list[str], time_limit: float) -> str:
    """``<name> <version>`` as the binary reports it, remembered per binary file (path, size, mtime)."""
    try:
        info = os.stat(binary)
    except OSError:
        raise RenderError(
            _with_hint(f"{name} not found at {binary}", name), reason="RenderToolMissing"
        ) from None
    key = (str(binary), info.st_size, info.st_mtime_ns)
    if key not in _versions:
        with tempfile.TemporaryDirectory(prefix="gitward-version-") as scratch:
            home = Path(scratch)
            output = await run_tool(
                [str(binary), *args], name=name, home=home, cwd=home, time_limit=time_limit
            )
        _versions[key] = f"{name} {output.stdout.decode('utf-8', 'replace').strip()}"
    return _versions[key]
