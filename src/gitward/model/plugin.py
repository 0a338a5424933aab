"""Config-management plugins: the ``Plugin`` kind, and an app's ``spec.source.plugin`` choosing one.

A ``Plugin`` names a command that renders a folder to YAML, as Argo CD's config-management plugins
(``ConfigManagementPlugin`` in a repo-server sidecar) do: ``init`` runs first (its output is
discarded), then ``generate``, whose standard output must be Kubernetes objects in YAML or JSON.
Both run in the app's folder of a read-only copy of the checkout, in the render jail
(``render/plugin.py``). ``discover.fileName`` is a glob relative to the app's folder: an app whose
``plugin`` names no plugin gets the one plugin whose glob matches a file there; a named plugin with a
``discover`` rule is used only when its rule matches, as in Argo CD. ``timeout`` bounds each command
(the render tools' timeout when unset).

An app selects a plugin with ``spec.source.plugin``: ``name`` (optional, see above), ``env`` (each
entry reaches the commands as ``ARGOCD_ENV_<name>``, its value with build variables substituted) and
``parameters`` (``ARGOCD_APP_PARAMETERS`` as JSON, and ``PARAM_<NAME>`` for a string,
``PARAM_<NAME>_<i>`` for an array, ``PARAM_<NAME>_<KEY>`` for a map), as Argo CD documents them.

Refused because gitward does not do them (unknown fields are refused by the model): Argo CD's
``version``, ``discover.find``, ``parameters`` announcements, ``preserveFileMode`` and
``provideGitCreds``.

Deliberately not here: running anything (``render/plugin.py``), matching the glob (render, against
the checkout).
"""

from __future__ import annotations

import posixpath
import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from gitward.model.common import Duration, Name, SpecModel, TopLevelObject
from gitward.model.jsonnet import check_build_references

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PluginCommand(SpecModel):
    """A program and its arguments: ``command`` holds the program (a name on the tools' path, or an
    absolute path) and leading arguments, ``args`` the rest, as in Argo CD."""

    command: tuple[str, ...] = Field(min_length=1)
    args: tuple[str, ...] = ()

    @field_validator("command")
    @classmethod
    def _program_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        program = value[0]
        if not program or "\x00" in program or any(ch.isspace() for ch in program):
            raise ValueError(f"command {program!r} must name a program (a name or an absolute path)")
        if "/" in program and not program.startswith("/"):
            raise ValueError(f"command {program!r}: a program is a bare name or an absolute path")
        return value

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.command, *self.args)


class PluginDiscover(SpecModel):
    file_name: str = Field(min_length=1)

    @field_validator("file_name")
    @classmethod
    def _glob_inside(cls, value: str) -> str:
        if value.startswith("/") or ".." in posixpath.normpath(value).split("/") or "\x00" in value:
            raise ValueError(f"discover.fileName {value!r} must be a glob inside the app's folder")
        return value


class PluginSpec(SpecModel):
    init: PluginCommand | None = None
    generate: PluginCommand
    discover: PluginDiscover | None = None
    timeout: Duration | None = None  # per command; None: the render tools' timeout


class Plugin(TopLevelObject):
    kind: Literal["Plugin"] = "Plugin"
    spec: PluginSpec


class PluginEnv(SpecModel):
    name: str
    value: str = ""

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"plugin env name {value!r} must match [A-Za-z_][A-Za-z0-9_]*")
        return value

    @model_validator(mode="after")
    def _references_known(self) -> Self:
        check_build_references(self.value, what=f"plugin env {self.name!r}")
        return self


class PluginParameter(SpecModel):
    """One parameter: exactly one of ``string``, ``array`` and ``map``."""

    name: str = Field(min_length=1)
    string: str | None = None
    array: tuple[str, ...] | None = None
    map: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        given = [f for f in ("string", "array", "map") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                f"plugin parameter {self.name!r} needs exactly one of string, array and map"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self


class PluginSource(SpecModel):
    name: Name | None = None  # None: the one plugin whose discover rule matches
    env: tuple[PluginEnv, ...] = ()
    parameters: tuple[PluginParameter, ...] = ()

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        for what, names in (
            ("env", [e.name for e in self.env]),
            ("parameters", [p.name for p in self.parameters]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"plugin {what} names {', '.join(repeated)} more than once")
        return self
