"""Where an Application's manifests come from and how they are rendered (``spec.source``).

``repoURL`` is a Git repository (https, http, ssh, git, file, scp-like ``git@host:org/repo``, or a local
absolute path), or a Helm repository (https or ``oci://``) when ``chart`` is set. A password or an
access token in the URL is refused, and the message shows the URL masked, because the URL is shown
everywhere the app is shown (``check_no_credentials``).

An ``oci://host/repository`` URL is an OCI registry (``sources/ociregistry.py``): with ``chart``, the
Helm chart ``repository/chart`` (``revision`` is its version or a range, as for an HTTP repository);
without, an OCI artifact holding manifests (the layout ``flux push artifact`` writes), read at
``revision`` -- a tag, a digest ``sha256:<hex>``, or a semver range over the tags; ``HEAD`` (the
default) is the tag ``latest``, as in Flux -- and rendered from ``path`` inside it like a Git folder.
An artifact has no commit signatures, so ``verify`` is refused with it; its content is checked by digest.

An ``s3://HOST/BUCKET[/PREFIX]`` URL (``s3+http://`` for a loopback server) is an S3-compatible bucket
(a Flux Bucket, ``sources/bucket.py``), read anonymously as it is now: no ``revision`` but ``HEAD``,
no chart, no ``verify``.

The ``helm``/``kustomize``/``directory`` blocks carry options for that render (``directory.jsonnet``:
``model/jsonnet.py``); ``plugin`` hands the render to a config-management plugin (``model/plugin.py``).
``render_hint`` says which render the spec asks for explicitly. When it is ``None`` the render is
detected from the files.

``verify`` and ``decryption`` (``model/trust.py``) say which signatures a commit needs and which
keys decrypt SOPS-encrypted files in the render.

Deliberately not here: fetching, rendering, or resolving paths against a checkout (render/ checks
again after symlinks are resolved).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self
from urllib.parse import SplitResult, urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from gitward.core.redact import redact_url
from gitward.model.common import (
    Namespace,
    RelativePath,
    SpecModel,
    check_no_credentials,
    check_relative_path,
)
from gitward.model.helmparams import parse_path
from gitward.model.jsonnet import JsonnetSource
from gitward.model.plugin import PluginSource
from gitward.model.trust import Decryption, SourceVerify

_URL_SCHEMES = frozenset({"https", "http", "ssh", "git", "file", "oci", "git+ssh", "s3", "s3+http"})
_LOOPBACK = re.compile(r"^(?:localhost|127(?:\.\d{1,3}){3}|::1)$")
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]+$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The OCI distribution spec's repository name grammar (lowercase components joined by '/').
_OCI_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_OCI_NAME = re.compile(rf"^{_OCI_COMPONENT}(?:/{_OCI_COMPONENT})*$")
_OCI_DIGEST = re.compile(r"^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


def _check_oci_url(value: str, parts: SplitResult) -> None:
    if not parts.hostname:
        raise ValueError(f"repoURL {redact_url(value)!r} names no registry host")
    if parts.query or parts.fragment:
        raise ValueError("an oci:// repoURL has no query or fragment")
    if not _OCI_NAME.match(parts.path.strip("/")):
        raise ValueError(
            f"repoURL {redact_url(value)!r}: an OCI repository path is lowercase letters, digits and "
            "separators (._-/)"
        )


def _check_bucket_url(value: str, parts: SplitResult) -> None:
    if not parts.hostname or not parts.path.strip("/"):
        raise ValueError(f"repoURL {redact_url(value)!r}: a bucket URL is s3://HOST[:PORT]/BUCKET[/PREFIX]")
    if parts.query or parts.fragment:
        raise ValueError("an s3:// repoURL has no query or fragment")
    if parts.scheme.lower() == "s3+http" and not _LOOPBACK.match(parts.hostname):
        raise ValueError(
            "s3+http:// (plain HTTP) is for a loopback bucket server only: use s3:// (HTTPS) for any other"
        )


def check_repo_url(value: str) -> str:
    """A Git or Helm repository address without credentials; messages never show a secret."""
    if not value:
        raise ValueError("repoURL must not be empty")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("repoURL must not contain whitespace or control characters")
    check_no_credentials(value, what="repoURL")
    if "://" in value:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("repoURL is not a valid URL") from None
        if parts.scheme.lower() not in _URL_SCHEMES:
            allowed = ", ".join(sorted(_URL_SCHEMES))
            raise ValueError(f"repoURL scheme {parts.scheme!r} is not supported (use {allowed})")
        if parts.scheme.lower() == "oci":
            _check_oci_url(value, parts)
        if parts.scheme.lower() in ("s3", "s3+http"):
            _check_bucket_url(value, parts)
        return value
    if value.startswith("/") or _SCP_LIKE.match(value):
        return value
    raise ValueError(f"repoURL {redact_url(value)!r} is not a URL, an scp-like address or an absolute path")


def _scalar_to_str(value: Any) -> Any:
    """YAML turns ``2`` and ``true`` into numbers and booleans; parameters are strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def split_globs(value: Any) -> Any:
    """``"*.yaml"`` -> ``("*.yaml",)``; Argo CD's ``"{a.yaml,b.yaml}"`` -> ``("a.yaml", "b.yaml")``."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            return tuple(p.strip() for p in text[1:-1].split(",") if p.strip())
        return (text,) if text else ()
    return value


class HelmParameter(SpecModel):
    """``--set name=value`` (``--set-string`` when ``forceString``); ``model/helmparams.py`` says how
    the name's path and the value's type are read."""

    name: str = Field(min_length=1)
    value: Annotated[str, BeforeValidator(_scalar_to_str)]
    force_string: bool = False

    @field_validator("name")
    @classmethod
    def _path_valid(cls, value: str) -> str:
        parse_path(value)
        return value


class ValuesFrom(SpecModel):
    """Helm values read from a ConfigMap or Secret of the management cluster at each render (``run
    --from-cluster`` only; a file config refuses it, ``model/secretrefs.py``), as Flux's HelmRelease
    ``valuesFrom``: the key's YAML merged in order, or with ``targetPath`` the key's text set at
    that path as ``--set`` would; ``spec.values`` wins over all. ``namespace`` "" is the app's own."""

    kind: Literal["ConfigMap", "Secret"]
    name: str = Field(min_length=1, max_length=253)
    namespace: Namespace = ""
    values_key: str = Field(default="values.yaml", min_length=1, max_length=253)
    target_path: str | None = None
    optional: bool = False

    @field_validator("target_path")
    @classmethod
    def _path_valid(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value


class HelmSource(SpecModel):
    release_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=53)
    namespace: Namespace | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    value_files: tuple[RelativePath, ...] = ()
    parameters: tuple[HelmParameter, ...] = ()
    values_from: tuple[ValuesFrom, ...] = ()


class KustomizeSource(SpecModel):
    images: tuple[str, ...] = ()
    name_prefix: str = ""
    name_suffix: str = ""
    namespace: Namespace = ""
    common_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("images")
    @classmethod
    def _images_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for image in value:
            if not image or any(ch.isspace() for ch in image):
                raise ValueError(f"kustomize image {image!r} must be non-empty and contain no spaces")
        return value


class DirectorySource(SpecModel):
    """Options for plain YAML/JSON (and Jsonnet) rendering; include/exclude are globs on paths below
    ``path``; ``jsonnet`` options apply to its ``*.jsonnet`` files (``model/jsonnet.py``)."""

    recurse: bool = True
    include: Annotated[tuple[str, ...], BeforeValidator(split_globs)] = ()
    exclude: Annotated[tuple[str, ...], BeforeValidator(split_globs)] = ()
    jsonnet: JsonnetSource | None = None


class Source(SpecModel):
    repo_url: str = Field(alias="repoURL")
    revision: str = Field(default="HEAD", min_length=1)
    path: RelativePath = ""
    chart: str | None = None
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    directory: DirectorySource | None = None
    plugin: PluginSource | None = None  # a config-management plugin renders it (model/plugin.py)
    substitute: dict[str, str] = Field(default_factory=dict)
    verify: SourceVerify | None = None  # commit/tag signatures (model/trust.py)
    decryption: Decryption | None = None  # SOPS keys (model/trust.py, render/sops.py)
    # In ``spec.sources``: the name other sources' Helm valueFiles use as ``$ref/path`` for this
    # source's files (``model/application.py``, "Several sources").
    ref: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,63}$")

    @field_validator("repo_url")
    @classmethod
    def _repo_url_valid(cls, value: str) -> str:
        return check_repo_url(value)

    @field_validator("revision")
    @classmethod
    def _revision_valid(cls, value: str) -> str:
        # Plain spaces are allowed inside a value: semver ranges are written ">=1.0.0 <2.0.0".
        text = value.strip(" ")
        if not text or any(ch != " " and (ch.isspace() or ord(ch) < 32) for ch in value):
            raise ValueError(f"revision {value!r} must not be blank or contain tabs, newlines or controls")
        if text.startswith("-"):
            # A leading '-' would be read as an option by the git command line.
            raise ValueError(f"revision {value!r} must not start with '-'")
        return text

    @field_validator("chart")
    @classmethod
    def _chart_valid(cls, value: str | None) -> str | None:
        if value is not None:
            if not value or value.startswith("-") or any(ch.isspace() for ch in value):
                raise ValueError(f"chart {value!r} must be a chart name")
            check_relative_path(value)
        return value

    @field_validator("substitute")
    @classmethod
    def _substitute_names_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _VAR_NAME.match(name):
                raise ValueError(f"substitute variable name {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
        return value

    @model_validator(mode="after")
    def _one_render(self) -> Self:
        if self.chart is not None and self.path:
            raise ValueError("set either chart (a Helm repository chart) or path, not both")
        asked = [n for n in ("helm", "kustomize", "directory", "plugin") if getattr(self, n) is not None]
        if self.chart is not None and {"kustomize", "directory", "plugin"} & set(asked):
            raise ValueError("a chart source is rendered by helm: remove kustomize/directory/plugin")
        if len(asked) > 1:
            raise ValueError(
                f"set at most one of helm, kustomize, directory and plugin (found {', '.join(asked)})"
            )
        if self.chart is not None and self.verify is not None:
            raise ValueError("verify checks Git commit signatures: a chart from a Helm repository has none")
        if self.decryption is not None and (self.chart is not None or self.helm is not None):
            raise ValueError("decryption applies to plain and kustomize renders, not to Helm charts")
        if self.decryption is not None and self.plugin is not None:
            raise ValueError("decryption applies to plain and kustomize renders, not to plugins")
        if self.is_oci:
            self._check_oci()
        if self.is_bucket:
            self._check_bucket()
        return self

    def _check_bucket(self) -> None:
        if self.chart is not None:
            raise ValueError("chart: a chart is not read from a bucket")
        if self.verify is not None:
            raise ValueError("verify checks Git commit signatures: a bucket has none")
        if self.revision not in ("HEAD", "latest"):
            raise ValueError(
                f"revision {self.revision!r}: a bucket has no revisions, it is read as it is now"
            )

    def _check_oci(self) -> None:
        if self.chart is not None and not _OCI_NAME.match(self.chart):
            raise ValueError(
                f"chart {self.chart!r}: a chart in an OCI registry is named in lowercase letters, digits "
                "and separators (._-)"
            )
        if self.chart is None and self.verify is not None:
            raise ValueError(
                "verify checks Git commit signatures: an OCI artifact has none (its content is checked "
                "by digest instead)"
            )
        if self.revision.startswith(("sha256:", "sha512:")) and not _OCI_DIGEST.match(self.revision):
            raise ValueError(f"revision {self.revision!r} is not a valid digest (sha256:<64 hex digits>)")

    @property
    def renders(self) -> bool:
        """Whether the source is rendered: one with ``ref`` and neither ``path`` nor ``chart`` only
        provides files to other sources (as in Argo CD)."""
        return self.ref is None or bool(self.path) or self.chart is not None

    def value_refs(self) -> tuple[str, ...]:
        """The ``$ref`` names this source's Helm valueFiles read from."""
        files = self.helm.value_files if self.helm is not None else ()
        return tuple(dict.fromkeys(f[1:].partition("/")[0] for f in files if f.startswith("$")))

    @property
    def render_hint(self) -> str | None:
        """``"helm"``, ``"kustomize"`` or ``"plugin"`` when the spec asks for it; ``None``: detect from
        the files."""
        if self.chart is not None or self.helm is not None:
            return "helm"
        if self.kustomize is not None:
            return "kustomize"
        if self.plugin is not None:
            return "plugin"
        return None

    @property
    def is_helm_repository(self) -> bool:
        return self.chart is not None

    @property
    def is_oci(self) -> bool:
        """The repository is an OCI registry (a chart when ``chart`` is set, else an artifact)."""
        return self.repo_url.lower().startswith("oci://")

    @property
    def is_bucket(self) -> bool:
        """Objects of an S3-compatible bucket (``sources/bucket.py``), read as they are now."""
        return self.repo_url.lower().startswith(("s3://", "s3+http://"))

    @property
    def is_oci_artifact(self) -> bool:
        """Manifests packaged as an OCI artifact (``sources/ociartifact.py``), not a Git repository."""
        return self.is_oci and self.chart is None
