"""The jail render tools run in: no network, and no file but the render's copy and the tool.

The closure checks (``kustomize_refs``, ``helm``) decide what a tool should read and refuse the
rest with a clear error; the jail decides what it can read, so a field or a trick those checks do
not know still cannot reach the network or a file outside the copy (docs/reliability.md, row 3).

It is bubblewrap (``bwrap``), which builds the view from nothing in new Linux namespaces (user,
mount, pid, network, ipc, uts, cgroup) and drops every capability:

- ``/`` is an empty tmpfs; the folders given (the render's temporary directory, holding only the
  checked copies) are bound read-only at their own paths, so arguments and messages need no
  translation; the tool's HOME is a fresh tmpfs over its folder, ``/tmp`` another;
- the tool binary is bound read-only at its real path; a static executable (kustomize, helm and
  jsonnet as gitward builds them) needs nothing else, while a script or a dynamically linked program
  also gets the system folders (``/usr``, ``/bin``, ``/lib*``, ``/sbin``) read-only, as does a
  config-management plugin (``system``), whose commands are usually shell scripts; never ``/etc``,
  ``/home``, ``/root``, ``/var``, the checkout, gitward's state or credentials;
- a plugin also gets gitward's render tools (kustomize, helm, jsonnet) read-only in ``/gitward/bin``
  (``tools``), which its PATH names first;
- the writable scratch folders (HOME, ``/tmp``) are memory-backed, so each is capped at
  ``scratch_bytes`` when bwrap can size a tmpfs (``--size``, bubblewrap 0.8 and later); a plugin's
  HOME is instead its render's own folder bound writable (``shared_home``), so what its ``init``
  command prepares there its ``generate`` command finds;
- the network namespace holds only its own loopback, on which nothing listens. Only when the
  operator allows remote kustomize content is the host network shared, with the system folders and
  the few ``/etc`` files DNS, TLS and git need, read-only;
- the child dies with bwrap (``--die-with-parent``), which the runner kills by process group at
  the timeout, and the pid namespace takes everything the tool started down with it.

bwrap needs unprivileged user namespaces when gitward does not run as root (the default on Debian
and Fedora; Ubuntu 24.04 confines them with AppArmor). When the jail cannot be made, the render is
refused with bwrap's reason (``SandboxUnavailable``); running tools unjailed takes the explicit
render setting ``sandbox="off"``.

Deliberately not here: starting and reading the process (``runner``), what a tool may read
(the closure checks).
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.core.errors import RenderError

_SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# what DNS, TLS and git read when the network is shared; missing ones are skipped
_NETWORK_FILES = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/gitconfig",
)
_PT_INTERP = 3  # ELF program header type naming the dynamic loader
UNAVAILABLE = "SandboxUnavailable"
OPT_OUT = "set the render setting sandbox='off' to run render tools without it"


@dataclass(frozen=True, kw_only=True)
class Confinement:
    """What a jailed tool sees besides its own binary."""

    program: Path  # bwrap
    readable: tuple[Path, ...]  # bound read-only at the same path
    home: Path  # a fresh tmpfs at this path (it must exist, inside a readable folder)
    # bind ``home`` writable instead: what one command writes there the next one reads (a plugin's
    # init prepares files for its generate); it is the render's own folder, removed with it
    shared_home: bool = False
    network: bool = False  # share the host's network (remote kustomize content allowed)
    system: bool = False  # bind the system folders even for a static executable (plugins)
    tools: tuple[tuple[Path, str], ...] = ()  # (binary, path in the jail), bound read-only
    scratch_bytes: int = 0  # size of each tmpfs (HOME, /tmp); 0: bwrap's default (unbounded)


TOOLS_FOLDER = "/gitward/bin"  # where ``Confinement.tools`` are bound by convention


def unavailable(name: str, cause: str) -> RenderError:
    """The one-line refusal when the jail cannot be made, naming the cause and the opt-out."""
    return RenderError(f"{name} cannot run sandboxed: {cause}; {OPT_OUT}", reason=UNAVAILABLE)


def jailed_argv(argv: Sequence[str], confinement: Confinement, *, name: str) -> list[str]:
    """``argv`` wrapped in bwrap; its binary is bound by real path. Raises when bwrap is missing."""
    program = confinement.program
    if not os.access(program, os.X_OK) or program.is_dir():
        raise unavailable(name, f"bubblewrap (bwrap) not found at {program}")
    binary = os.path.realpath(argv[0])
    size = _size_option(program, confinement.scratch_bytes)
    wrapped = [
        str(program),
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--dev",
        "/dev",
        *size,
        "--tmpfs",
        "/tmp",
    ]
    if confinement.network:
        wrapped.append("--share-net")
        for path in _NETWORK_FILES:
            wrapped += ["--ro-bind-try", path, path]
    if confinement.network or confinement.system or not is_static_executable(binary):
        wrapped += _system_folders()
    for folder in confinement.readable:
        wrapped += ["--ro-bind", str(folder), str(folder)]
    for tool, inside in confinement.tools:
        wrapped += ["--ro-bind", os.path.realpath(tool), inside]
    if confinement.shared_home:
        wrapped += ["--bind", str(confinement.home), str(confinement.home)]
    else:
        wrapped += [*size, "--tmpfs", str(confinement.home)]
    wrapped += ["--ro-bind", binary, binary, "--", binary, *argv[1:]]
    return wrapped


_sizes: dict[tuple[str, int, int], bool] = {}


def _size_option(program: Path, size: int) -> list[str]:
    """``--size N`` for the next tmpfs when wanted and this bwrap knows it (asked once per binary)."""
    if size <= 0:
        return []
    try:
        info = os.stat(program)
    except OSError:
        return []
    key = (str(program), info.st_size, info.st_mtime_ns)
    if key not in _sizes:
        try:
            done = subprocess.run(
                [str(program), "--help"], capture_output=True, text=True, timeout=10, check=False
            )
            _sizes[key] = "--size" in done.stdout + done.stderr
        except (OSError, subprocess.SubprocessError):
            _sizes[key] = False
    return ["--size", str(size)] if _sizes[key] else []


def _system_folders() -> list[str]:
    """Bind arguments that reproduce the host's system folders read-only, symlinks as symlinks."""
    arguments: list[str] = []
    for folder in _SYSTEM_FOLDERS:
        if os.path.islink(folder):
            arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            arguments += ["--ro-bind", folder, folder]
    return arguments


_static: dict[tuple[str, int, int], bool] = {}


def is_static_executable(path: str) -> bool:
    """Whether ``path`` is an ELF executable without a dynamic loader (remembered per file).

    Anything else (a script, a dynamically linked program, an unreadable file) is not, and then
    gets the system folders in the jail.
    """
    try:
        info = os.stat(path)
    except OSError:
        return False
    key = (path, info.st_size, info.st_mtime_ns)
    if key not in _static:
        _static[key] = _has_no_interpreter(path)
    return _static[key]


def _has_no_interpreter(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] not in (1, 2):
                return False
            wide = header[4] == 2
            order = "<" if header[5] == 1 else ">"
            if wide:
                offset, size, count = struct.unpack_from(order + "Q14xHH", header, 32)
            else:
                offset, size, count = struct.unpack_from(order + "I10xHH", header, 28)
            handle.seek(offset)
            table = handle.read(size * count)
    except OSError:
        return False
    if size < 4 or len(table) < size * count:
        return False
    kinds = (struct.unpack_from(order + "I", table, index * size)[0] for index in range(count))
    return _PT_INTERP not in kinds
