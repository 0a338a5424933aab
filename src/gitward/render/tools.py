"""Finding the renderers' programs (helm, kustomize, jsonnet, and other tools a render runs) and saying so.

Where a tool is looked for, first match wins:
1. the variable ``GITWARD_<NAME>`` (``GITWARD_HELM``, ``GITWARD_KUSTOMIZE``, ``GITWARD_JSONNET``, ...):
   that path, as given;
2. ``PATH``;
3. the folders of gitward's own executable: the folder of ``sys.argv[0]`` (as started and with links
   resolved) and the folder of ``sys.executable`` -- so tools installed into the same virtual
   environment's ``bin`` (or next to a bundled ``gitward``) are found without PATH.

``gitward run`` calls ``check_renderers`` once at start: each renderer is found (path, and the version
the program reports, read once with a time limit) or missing, and its version is compared with the
range gitward supports. ``install_hint`` is the one sentence that tells how to get a tool; the start
line and the error of an app that needs the missing tool both use it.

Deliberately not here: running a tool for a render (``runner``: jailed, minimal environment).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Renderer:
    """A program gitward renders with, and the versions it supports: ``minimum <= v < below``."""

    name: str
    version_args: tuple[str, ...]
    minimum: Version
    below: Version
    install: str  # where its install instructions are
    renders: str  # what needs it, for the messages

    @property
    def variable(self) -> str:
        return env_variable(self.name)

    @property
    def supported(self) -> str:
        return f">={_dotted(self.minimum)} <{_dotted(self.below)}"

    def supports(self, version: Version) -> bool:
        return self.minimum <= version < self.below


def _dotted(version: Version) -> str:
    major, minor, patch = version
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


# Tested with the versions devtools/toolchain.py pins (helm v3.22.0, kustomize v5.8.1, go-jsonnet
# v0.22.0); the flags gitward passes exist throughout these ranges. Helm 4 is not tested.
HELM = Renderer(
    name="helm",
    version_args=("version", "--short"),
    minimum=(3, 12, 0),
    below=(4, 0, 0),
    install="https://helm.sh/docs/intro/install/",
    renders="Helm charts",
)
KUSTOMIZE = Renderer(
    name="kustomize",
    version_args=("version",),
    minimum=(5, 0, 0),
    below=(6, 0, 0),
    install="https://kubectl.docs.kubernetes.io/installation/kustomize/",
    renders="Kustomize apps",
)
# go-jsonnet's command (the C++ jsonnet takes the same flags but is not tested)
JSONNET = Renderer(
    name="jsonnet",
    version_args=("--version",),
    minimum=(0, 20, 0),
    below=(1, 0, 0),
    install="https://github.com/google/go-jsonnet",
    renders="Jsonnet files of directory apps",
)
RENDERERS = (HELM, KUSTOMIZE, JSONNET)
_BY_NAME = {r.name: r for r in RENDERERS}


def env_variable(name: str) -> str:
    return f"GITWARD_{name.upper()}"


def executable_dirs(*, argv0: str | None = None, executable: str | None = None) -> list[Path]:
    """The folders of gitward's own executable, in order, without repeats."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    found: list[Path] = []
    candidates: list[Path] = []
    if argv0 and os.sep in argv0:
        started = Path(argv0).absolute()
        candidates += [started.parent, started.resolve().parent]
    if executable:
        candidates.append(Path(executable).absolute().parent)  # a venv's bin: not resolved to the base
    for folder in candidates:
        if folder not in found:
            found.append(folder)
    return found


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_tool(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    folders: Sequence[Path] | None = None,
) -> Path | None:
    """Where ``name`` is: the ``GITWARD_<NAME>`` path, else on PATH, else in ``folders`` (default:
    ``executable_dirs()``); None when none has it. A path given by the variable is returned as is,
    so a wrong one is reported as that path, not silently replaced by another."""
    environ = os.environ if environ is None else environ
    given = environ.get(env_variable(name))
    if given:
        return Path(given)
    on_path = shutil.which(name, path=environ.get("PATH", os.defpath))
    if on_path is not None:
        return Path(on_path)
    for folder in executable_dirs() if folders is None else folders:
        candidate = folder / name
        if _executable(candidate):
            return candidate
    return None


def locate(name: str) -> Path:
    """``find_tool`` or, when nothing has it, the bare name (a render that needs it is refused with
    ``install_hint``)."""
    return find_tool(name) or Path(name)


def install_hint(name: str) -> str:
    """How to get ``name``, with the versions gitward supports; empty for a tool that is not a renderer."""
    renderer = _BY_NAME.get(name)
    if renderer is None:
        return ""
    return (
        f"install {name} {renderer.supported} ({renderer.install}) on PATH or next to the gitward "
        f"executable, or set {renderer.variable} to its path"
    )


_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> Version | None:
    """The first ``[v]MAJOR.MINOR[.PATCH]`` in a tool's version output (``v3.22.0+g1a2b3c``,
    ``v5.8.1``, ``{Version:kustomize/v4.5.7 ...}``)."""
    match = _VERSION.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@dataclass(frozen=True)
class ToolCheck:
    """What ``check_renderer`` found: a usable path and version, or why there is none."""

    renderer: Renderer
    path: Path | None
    version: str | None = None  # as the tool printed it (first line)
    problem: str | None = None  # the tool is there but cannot be used or asked for its version

    @property
    def found(self) -> bool:
        return self.path is not None and self.problem is None

    @property
    def in_range(self) -> bool | None:
        """Whether the reported version is supported; None when it could not be read."""
        parsed = parse_version(self.version or "")
        return None if parsed is None else self.renderer.supports(parsed)

    def describe(self) -> str:
        """One sentence for the start-up log."""
        r = self.renderer
        if self.path is None:
            where = ", ".join(str(d) for d in executable_dirs())
            return (
                f"renderer {r.name} missing: {r.variable} is not set and {r.name} is neither on PATH nor "
                f"in {where}; {r.renders} will fail to render: {install_hint(r.name)}"
            )
        if self.problem is not None:
            return f"renderer {r.name} at {self.path} cannot be used: {self.problem}; {install_hint(r.name)}"
        shown = self.version or "unknown version"
        if self.in_range is False:
            return (
                f"renderer {r.name} {shown} found at {self.path}, outside the supported range "
                f"{r.supported}: renders may fail or differ; {install_hint(r.name)}"
            )
        if self.in_range is None:
            return (
                f"renderer {r.name} found at {self.path}, version not recognised ({shown}); "
                f"supported: {r.supported}"
            )
        return f"renderer {r.name} {shown} found at {self.path} (supported: {r.supported})"


def check_renderer(
    renderer: Renderer,
    *,
    environ: Mapping[str, str] | None = None,
    folders: Sequence[Path] | None = None,
    timeout: float = 10.0,
) -> ToolCheck:
    """Find ``renderer`` and run its version command once, within ``timeout`` seconds."""
    path = find_tool(renderer.name, environ=environ, folders=folders)
    if path is None:
        return ToolCheck(renderer, None)
    if not _executable(path):
        return ToolCheck(renderer, path, problem=f"{path} is not an executable file")
    with tempfile.TemporaryDirectory(prefix="gitward-version-") as home:
        try:
            done = subprocess.run(
                [str(path), *renderer.version_args],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
                cwd=home,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return ToolCheck(
                renderer, path, problem=f"`{renderer.name} version` did not answer in {timeout:g}s"
            )
        except OSError as exc:
            return ToolCheck(renderer, path, problem=f"it could not be started: {exc.strerror or exc}")
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        reason = said[0] if said else "no message"
        return ToolCheck(
            renderer, path, problem=f"`{renderer.name} version` failed (exit {done.returncode}): {reason}"
        )
    lines = done.stdout.strip().splitlines()
    return ToolCheck(renderer, path, version=lines[0].strip() if lines else None)


def check_renderers(*, timeout: float = 10.0) -> list[ToolCheck]:
    """Every renderer gitward runs, checked as ``check_renderer`` does."""
    return [check_renderer(r, timeout=timeout) for r in RENDERERS]
