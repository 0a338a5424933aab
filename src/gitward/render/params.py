"""What a render is asked to do: source parameters, tool locations and the limits it runs under.

These are render's own frozen values so that the render layer does not depend on the user-facing
pydantic model; the reconcile layer maps an Application's source onto ``RenderParams``. Every value
here is hashable and has a stable digest, which is part of the render cache key.

Deliberately not here: reading or validating user objects (see ``gitward.model``), running tools.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitward.render.tools import locate

ENGINES = ("plain", "kustomize", "helm", "plugin")
SANDBOX_MODES = ("required", "off")


@dataclass(frozen=True, kw_only=True)
class HelmParams:
    release_name: str | None = None  # None: the chart directory's name
    namespace: str | None = None  # None: the destination is decided by the caller; "default" here
    values: dict[str, Any] = field(default_factory=dict)
    value_files: tuple[str, ...] = ()  # relative to the app directory, must stay inside the checkout
    # ``$name/path`` value files (several sources): name -> the checkout holding them; left out of
    # the digest (the caller's tree key covers those checkouts' content)
    value_roots: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class KustomizeParams:
    images: tuple[str, ...] = ()  # "name:tag", "name@sha256:..", "name=newName[:tag|@digest]"
    name_prefix: str = ""
    name_suffix: str = ""
    namespace: str = ""
    common_labels: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.images or self.name_prefix or self.name_suffix or self.namespace or self.common_labels
        )


@dataclass(frozen=True, kw_only=True)
class JsonnetVariable:
    """An ext var or top-level argument; ``value`` may name build variables (``core/buildenv.py``)."""

    name: str
    value: str
    code: bool = False


@dataclass(frozen=True, kw_only=True)
class JsonnetParams:
    libs: tuple[str, ...] = ()  # library folders, relative to the checkout root
    ext_vars: tuple[JsonnetVariable, ...] = ()
    tlas: tuple[JsonnetVariable, ...] = ()

    def is_empty(self) -> bool:
        return not (self.libs or self.ext_vars or self.tlas)


@dataclass(frozen=True, kw_only=True)
class DirectoryParams:
    recurse: bool = True
    include: tuple[str, ...] = ()  # globs on the path relative to the app directory; empty: all
    exclude: tuple[str, ...] = ()
    jsonnet: JsonnetParams = field(default_factory=JsonnetParams)


@dataclass(frozen=True, kw_only=True)
class PluginDefinition:
    """A ``Plugin`` object as the render runs it (``model/plugin.py`` for the meaning)."""

    name: str
    generate: tuple[str, ...]  # program and arguments
    init: tuple[str, ...] = ()  # empty: no init command
    discover: str | None = None  # glob relative to the app's folder
    timeout: float | None = None  # per command; None: the tools' timeout


@dataclass(frozen=True, kw_only=True)
class PluginParameter:
    name: str
    string: str | None = None
    array: tuple[str, ...] | None = None
    map: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class PluginParams:
    """The app's choice (``name`` None: discovery among ``candidates``) and what it passes."""

    name: str | None = None
    candidates: tuple[PluginDefinition, ...] = ()  # the named plugin, or every one with a discover rule
    env: tuple[tuple[str, str], ...] = ()  # (name, value), values may name build variables
    parameters: tuple[PluginParameter, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DecryptionParams:
    """SOPS keys by file (``render/sops.py``); never their content, which is read at decryption."""

    age_key_files: tuple[str, ...] = ()
    pgp_key_files: tuple[str, ...] = ()
    # sha256 of the keys' content, computed by the caller: part of the render cache key, so a key
    # that changed or went away re-renders instead of serving what the old key decrypted
    keys_digest: str = ""


@dataclass(frozen=True, kw_only=True)
class RenderParams:
    engine: str | None = None  # None: detect from the files (see ``detect.detect_engine``)
    helm: HelmParams = field(default_factory=HelmParams)
    kustomize: KustomizeParams = field(default_factory=KustomizeParams)
    directory: DirectoryParams = field(default_factory=DirectoryParams)
    substitute: dict[str, str] = field(default_factory=dict)
    decryption: DecryptionParams | None = None  # None: an encrypted file refuses the render
    plugin: PluginParams | None = None  # engine "plugin" only
    # the build variables the app provides (``core/buildenv.py``); the render adds the cluster's
    # versions. Jsonnet values and plugins read them; a plugin also gets them in its environment.
    build_env: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """Stable sha256 of every parameter, for the render cache key."""
        fields = asdict(self)
        fields["helm"].pop("value_roots")
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def __hash__(self) -> int:
        # dict fields make the generated hash fail; the digest is the identity that matters
        return hash(self.digest())


def _find(name: str) -> Path:
    """The tool named by ``GITWARD_<NAME>``, else on PATH, else next to gitward's own executable,
    else the bare name (``tools.locate``)."""
    return locate(name)


def _find_jail() -> Path:
    return _find("bwrap")


def _find_sops() -> Path:
    return _find("sops")


def _find_jsonnet() -> Path:
    return _find("jsonnet")


@dataclass(frozen=True, kw_only=True)
class RenderTools:
    kustomize: Path
    helm: Path
    timeout: float = 60.0  # seconds per tool run; the process group is killed when it expires
    jail: Path = field(default_factory=_find_jail)  # bubblewrap, which runs kustomize and helm jailed
    sops: Path = field(default_factory=_find_sops)  # decrypts SOPS files in the jail (``sops``)
    jsonnet: Path = field(default_factory=_find_jsonnet)  # evaluates *.jsonnet files (``jsonnet``)

    @classmethod
    def discover(cls, *, timeout: float = 60.0) -> RenderTools:
        """Tools named by GITWARD_KUSTOMIZE / GITWARD_HELM / GITWARD_BWRAP / GITWARD_SOPS /
        GITWARD_JSONNET, else on PATH,
        else next to gitward's own executable (``tools.find_tool``), else bare names. A bare name
        only fails when a render needs that tool, with how to install it.
        """
        return cls(kustomize=_find("kustomize"), helm=_find("helm"), timeout=timeout)


MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class RenderSettings:
    """Caps checked before parsing (docs/reliability.md, rows 5 and 6) and what the operator allows
    (row 3)."""

    max_file_bytes: int = 8 * MiB
    max_files: int = 10_000
    max_total_bytes: int = 256 * MiB
    max_depth: int = 200  # nesting of mappings/sequences in one document
    max_aliases: int = 10_000  # alias uses per document
    max_expanded_nodes: int = 2_000_000  # nodes per document once aliases are expanded
    max_output_bytes: int = 64 * MiB  # stdout of kustomize/helm
    max_stderr_bytes: int = 1 * MiB
    # the data segment of each tool process (RLIMIT_DATA: the heap a Go program grows); 0: no limit
    max_memory_bytes: int = 2048 * MiB
    # each writable scratch folder of the jail (HOME, /tmp: memory-backed); 0: no limit
    max_scratch_bytes: int = 512 * MiB
    max_chart_archive_bytes: int = 10 * MiB  # a .tgz in a chart's charts/ folder, compressed
    max_chart_unpacked_bytes: int = 100 * MiB  # the same archive, decompressed
    # remote content named by a kustomization (git bases, http files, chart repositories); when
    # allowed, the jail shares the host's network so kustomize can fetch it
    allow_remote_bases: bool = False
    # "required": kustomize and helm run only inside the jail (``jail``), and a render is refused
    # when the jail cannot be made; "off": they run as plain child processes (an explicit opt-out)
    sandbox: str = "required"

    def __post_init__(self) -> None:
        if self.sandbox not in SANDBOX_MODES:
            raise ValueError(f"sandbox must be one of {', '.join(SANDBOX_MODES)}, not {self.sandbox!r}")


DEFAULT_SETTINGS = RenderSettings()
