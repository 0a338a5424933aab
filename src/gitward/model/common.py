"""Pieces every gitward object shares: the API group, the base model, metadata and field checks.

Users write camelCase (``repoURL``, ``selfHeal``); Python code reads snake_case attributes. Specs forbid
unknown fields so a typo is an error the user sees, not a setting silently ignored. Metadata ignores
unknown fields instead, because objects read back from a cluster carry ``uid``, ``resourceVersion``,
``managedFields`` and more that gitward does not need.

Validators here never echo values that may be secret (Helm values, substitutions, URL credentials):
their messages are shown in the API, UI, CLI and logs.

Deliberately not here: reading files or parsing YAML (the caller passes parsed documents).
"""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from gitward.core.durations import format_duration, parse_duration
from gitward.core.redact import redact_url
from gitward.core.repourl import credential_in

GROUP: Final = "gitward.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "gitward.dev/v1alpha1"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class SpecModel(BaseModel):
    """Base of every spec part: camelCase aliases, unknown fields forbidden, immutable.

    ``defer_build``: a model's validator is built when it is first used, not when its module is
    imported; a config without Notifications or ApplicationSets never builds theirs, and
    importing the model stays cheap for the commands that do not load a config.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


def check_dns1123_subdomain(value: str) -> str:
    """Object names: lowercase letters, digits, ``-`` and ``.``, at most 253 characters.

    Names end up in inventory ids (``namespace_name_group_kind``) and tracking ids, so ``_`` and ``:``
    must never appear in them.
    """
    if not value or len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid name (DNS-1123: lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters)"
        )
    return value


def check_namespace(value: str) -> str:
    """A namespace or "" (none given): a DNS-1123 label of at most 63 characters."""
    if value and (len(value) > 63 or not _DNS1123_LABEL.match(value)):
        raise ValueError(
            f"{value!r} is not a valid namespace (DNS-1123 label: lowercase letters, digits and '-', "
            "at most 63 characters)"
        )
    return value


def check_relative_path(value: str) -> str:
    """A path inside the source: not absolute, no ``..`` segment (docs/reliability.md, bad input 2).

    The render sandbox checks again after resolving symlinks; refusing here gives the user the error
    on the Application itself, before anything is fetched.
    """
    if "\x00" in value:
        raise ValueError("path contains a NUL character")
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", value):
        raise ValueError(f"path {value!r} must be relative to the repository root")
    parts = value.replace("\\", "/").split("/")
    if ".." in parts:
        raise ValueError(f"path {value!r} must not contain '..'")
    return value


def normalize_relative_path(value: str) -> str:
    """``./apps/x/`` -> ``apps/x``; ``.`` and ``""`` -> ``""`` (the repository root)."""
    check_relative_path(value)
    if not value:
        return ""
    normalized = posixpath.normpath(value.replace("\\", "/"))
    return "" if normalized == "." else normalized


def _duration_seconds(value: Any) -> Any:
    """Go duration strings (``5m``) become seconds; numbers are taken as seconds already."""
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("duration must be greater than zero")
    return value


#: What ``parse_duration`` reads: Go units, optional surrounding blanks. The JSON schema of a
#: Duration says "this pattern, or a number" (the custom resource definitions are made from it).
DURATION_PATTERN: Final = r"^\s*([0-9]+(\.[0-9]+)?(ms|s|m|h))+\s*$"

#: A Go-style duration written by the user, held as seconds (float).
#: Dumped as JSON it is a Go duration string again (``300.0`` -> ``"5m"``), so documents round-trip.
Duration = Annotated[
    float,
    BeforeValidator(
        _duration_seconds,
        json_schema_input_type=Annotated[str, Field(pattern=DURATION_PATTERN)] | float,
    ),
    AfterValidator(_positive),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

Name = Annotated[str, AfterValidator(check_dns1123_subdomain)]
Namespace = Annotated[str, AfterValidator(check_namespace)]
RelativePath = Annotated[str, AfterValidator(normalize_relative_path)]


class ObjectMeta(BaseModel):
    """The metadata gitward reads; other metadata fields (uid, managedFields, ...) are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )

    name: Name
    namespace: Namespace = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int = 0


def drop_status(data: Any) -> Any:
    """``status`` is written by gitward, never read from what the user wrote."""
    if isinstance(data, dict) and "status" in data:
        return {k: v for k, v in data.items() if k != "status"}
    return data


def check_no_credentials(value: str, *, what: str) -> str:
    """Refuse a URL holding a password or an access token; the message shows it masked.

    Credentials belong in a Repository object's files: a URL is shown in ``app get``, the API and
    logs, and the config itself may be committed. A bare user name (``https://deployer@host``,
    ``git@host:org/repo``) is allowed: it names an account, its password comes from a Repository.
    """
    credential = credential_in(value)
    if credential:
        raise ValueError(
            f"{what} {redact_url(value)} holds {credential}: put credentials in a Repository "
            "object (passwordFile or bearerTokenFile), never in the URL"
        )
    return value


def check_file_path(value: str) -> str:
    """A local file named in the config (kubeconfig, secret files): one line, no NUL."""
    if "\x00" in value or "\n" in value:
        raise ValueError("must be a file path")
    return value


#: A path to a local file the operator provides (never its content).
FilePath = Annotated[str, Field(min_length=1), AfterValidator(check_file_path)]


class TopLevelObject(SpecModel):
    """What every gitward kind has: ``metadata`` (its name), and a ``status`` that is never read back."""

    api_version: Literal["gitward.dev/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    metadata: ObjectMeta

    @model_validator(mode="before")
    @classmethod
    def _ignore_status(cls, data: Any) -> Any:
        return drop_status(data)

    @property
    def name(self) -> str:
        return self.metadata.name
