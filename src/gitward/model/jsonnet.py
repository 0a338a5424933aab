"""Jsonnet options of a directory app (``spec.source.directory.jsonnet``), as Argo CD writes them.

A directory app renders its ``*.jsonnet`` files with Jsonnet next to its YAML and JSON files
(``render/jsonnet.py``). These options apply to every such file:

- ``libs``: library folders, relative to the repository root (not to the app's path), searched for
  imports after the importing file's own folder; each must stay inside the repository;
- ``extVars``: external variables (``std.extVar(name)``), a string each, or Jsonnet code with
  ``code: true``;
- ``tlas``: top-level arguments, for a file whose value is a function; same forms.

Values may name build variables (``$ARGOCD_APP_NAME``, ``${KUBE_VERSION}``...; ``core/buildenv.py``);
a name that is not one is refused here, where Argo CD would silently empty it.

Deliberately not here: evaluating anything, and checking the libraries exist (the render does,
against the checkout).
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import Field, field_validator, model_validator

from gitward.core.buildenv import BUILD_VARIABLES, unknown_references
from gitward.model.common import RelativePath, SpecModel

#: Values go to the jsonnet command line; this keeps one far below the system's argument limit.
MAX_VALUE_LENGTH = 32_768
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_build_references(value: str, *, what: str) -> str:
    """Refuse a value naming a variable that is not a build variable; the message names it."""
    unknown = unknown_references(value)
    if unknown:
        raise ValueError(
            f"{what} names {', '.join(unknown)}, which is not a build variable (known: "
            f"{', '.join(BUILD_VARIABLES)}); write $$ for a literal $"
        )
    return value


class JsonnetVariable(SpecModel):
    """One ext var or top-level argument: a string, or Jsonnet code when ``code`` is true."""

    name: str = Field(min_length=1, max_length=253)
    value: str = Field(default="", max_length=MAX_VALUE_LENGTH)
    code: bool = False

    @field_validator("name")
    @classmethod
    def _name_valid(cls, value: str) -> str:
        # the command line reads NAME=VALUE, and a bare NAME would read the process environment
        if "=" in value or any(ch.isspace() or ord(ch) < 32 for ch in value):
            raise ValueError(f"jsonnet variable name {value!r} must not hold '=', blanks or controls")
        return value

    @model_validator(mode="after")
    def _references_known(self) -> Self:
        check_build_references(self.value, what=f"jsonnet variable {self.name!r}")
        return self


class JsonnetSource(SpecModel):
    libs: tuple[RelativePath, ...] = ()
    ext_vars: tuple[JsonnetVariable, ...] = ()
    tlas: tuple[JsonnetVariable, ...] = ()

    @field_validator("tlas")
    @classmethod
    def _tla_names_are_identifiers(cls, value: tuple[JsonnetVariable, ...]) -> tuple[JsonnetVariable, ...]:
        for tla in value:
            if not _IDENTIFIER.match(tla.name):
                raise ValueError(f"top-level argument {tla.name!r} must be a Jsonnet identifier")
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        for field, variables in (("extVars", self.ext_vars), ("tlas", self.tlas)):
            names = [v.name for v in variables]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"jsonnet {field} names {', '.join(repeated)} more than once")
        return self

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v.value for v in (*self.ext_vars, *self.tlas))
