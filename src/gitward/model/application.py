"""The ``Application`` object: one source rendered into one destination, kept converged.

Shape and defaults follow the README. ``status`` on input is dropped: gitward writes it.
Cross-object checks (does the project or cluster exist, are dependencies acyclic) need the whole
configuration and live in the loader and the scheduler, not here.

``suspend: true`` turns automation off: the app is neither synced nor healed by gitward on its own,
and its status says so (``reconcile/gates.py``); a person may still sync it. Flux users know the field
from Kustomizations and GitRepositories, which are read into it (``model/flux.py``).

``deletionPolicy`` says what happens to the app's objects when the app leaves the config (or is
deleted with ``gitward app delete``), as Argo CD's cascade choices: ``orphan`` (the default, the
safest) keeps them and releases gitward's ownership marks so another app may adopt them;
``foreground`` and ``background`` delete them with that propagation policy (``reconcile/removal.py``).
Argo CD's resources finalizers and a Flux Kustomization's ``prune`` are read into it.

Deliberately not here: the status types (store/ and reconcile/ own them), ApplicationSet.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from gitward.core.jqpath import JqPath, JqPathError
from gitward.model.common import (
    Name,
    Namespace,
    SpecModel,
    TopLevelObject,
)
from gitward.model.source import Source
from gitward.model.syncpolicy import SyncPolicy

_JSON_POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")


class Destination(SpecModel):
    """A Cluster by name (``in-cluster`` is where gitward runs) and the default namespace for
    namespaced objects that do not name one."""

    cluster: Name = "in-cluster"
    namespace: Namespace = ""


class DependsOn(SpecModel):
    name: Name


class IgnoreDifference(SpecModel):
    """Fields of matching live objects that are not compared, not healed and not drift (and, with
    RespectIgnoreDifferences, not overwritten): by JSON pointer, by jq path expression (the subset of
    ``core/jqpath.py``, checked here so an expression outside it refuses the app at load, naming the
    construct), or every field a named field manager owns. ``group`` and ``kind`` ``*`` match any;
    ``name``/``namespace`` None match any."""

    group: str = ""
    kind: str = Field(min_length=1)
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[Annotated[str, Field(min_length=1)], ...] = ()

    @field_validator("json_pointers")
    @classmethod
    def _pointers_valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pointer in value:
            if not _JSON_POINTER.match(pointer):
                raise ValueError(
                    f"{pointer!r} is not a JSON pointer (RFC 6901: '/a/b', '~1' for '/', '~0' for '~')"
                )
        return value

    @field_validator("jq_path_expressions")
    @classmethod
    def _expressions_supported(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for expression in value:
            try:
                JqPath.parse(expression)
            except JqPathError as err:
                raise ValueError(f"{expression!r}: {err}") from None
        return value

    @model_validator(mode="after")
    def _names_fields(self) -> Self:
        if not (self.json_pointers or self.jq_path_expressions or self.managed_fields_managers):
            raise ValueError("name the fields: jsonPointers, jqPathExpressions or managedFieldsManagers")
        return self

    def matches(self, *, group: str, kind: str, namespace: str, name: str) -> bool:
        return (
            self.group in ("*", group)
            and self.kind in ("*", kind)
            and self.name in (None, name)
            and self.namespace in (None, namespace)
        )


#: What happens to an app's objects when the app is removed (see the module docstring).
DeletionPolicy = Literal["orphan", "foreground", "background"]
DEFAULT_DELETION_POLICY: DeletionPolicy = "orphan"


def _source_not_required(schema: dict[str, Any]) -> None:
    """``source`` may be left out when ``sources`` is given (``_first_source``), so the schema, and the
    CRD made from it, does not require it; the model still refuses an app with neither, and the CRD
    does too with a rule of its own."""
    required = [name for name in schema.get("required", ()) if name != "source"]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    # ... but the API server still refuses an Application with neither, naming the field.
    schema["x-kubernetes-validations"] = [
        {
            "rule": "has(self.source) || (has(self.sources) && size(self.sources) > 0)",
            "message": "spec.source (or spec.sources) is required",
        }
    ]


class ApplicationSpec(SpecModel):
    model_config = ConfigDict(json_schema_extra=_source_not_required)

    project: Name = "default"
    source: Source
    # Several sources rendered and concatenated (``source`` is then the first of them): see
    # ``_several_sources`` and docs/architecture.md.
    sources: tuple[Source, ...] = ()
    destination: Destination = Field(default_factory=Destination)
    sync_policy: SyncPolicy = Field(default_factory=SyncPolicy)
    depends_on: tuple[DependsOn, ...] = ()
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    suspend: bool = False  # no automated sync or self-heal while true
    # How many deployments (rollback targets) the history keeps, within the store's per-app cap;
    # None keeps as many as that cap allows. Argo CD's field of the same name is read into it.
    revision_history_limit: int | None = Field(default=None, ge=0)
    deletion_policy: DeletionPolicy = DEFAULT_DELETION_POLICY

    @model_validator(mode="before")
    @classmethod
    def _first_source(cls, data: Any) -> Any:
        """``sources`` alone: ``source`` is its first entry, which every reader of one source sees."""
        if isinstance(data, dict) and data.get("sources") and data.get("source") is None:
            sources = data["sources"]
            if isinstance(sources, list | tuple):
                return {**data, "source": sources[0]}
        return data

    @model_validator(mode="after")
    def _several_sources(self) -> Self:
        if not self.sources:
            if self.source.ref is not None:
                raise ValueError("source.ref names a source for the others of spec.sources: use spec.sources")
            return self
        if self.source != self.sources[0]:
            raise ValueError("set either source or sources, not both")
        for index, source in enumerate(self.sources):
            if source.ref is not None and (source.chart is not None or source.is_oci or source.is_bucket):
                raise ValueError(
                    f"sources[{index}].ref names a Git source: a chart or OCI artifact has no files"
                )
        refs = [s.ref for s in self.sources if s.ref is not None]
        if len(refs) != len(set(refs)):
            raise ValueError("two of spec.sources have the same ref")
        for index, source in enumerate(self.sources):
            missing = [name for name in source.value_refs() if name not in refs]
            if missing:
                raise ValueError(
                    f"sources[{index}].helm.valueFiles names ${missing[0]}, which no source's ref is"
                )
            if source.value_refs() and source.render_hint != "helm":
                raise ValueError(f"sources[{index}]: $ref value files are for a Helm source")
        if not any(s.renders for s in self.sources):
            raise ValueError("every source of spec.sources is a ref with no path or chart: nothing to render")
        return self

    @property
    def all_sources(self) -> tuple[Source, ...]:
        """The app's sources: ``sources``, or the one ``source``."""
        return self.sources or (self.source,)


class Application(TopLevelObject):
    kind: Literal["Application"] = "Application"
    spec: ApplicationSpec

    @model_validator(mode="after")
    def _not_own_dependency(self) -> Self:
        if any(dep.name == self.metadata.name for dep in self.spec.depends_on):
            raise ValueError("an Application cannot depend on itself")
        return self

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(dep.name for dep in self.spec.depends_on)

    def to_document(self) -> dict[str, Any]:
        """The object as a user would write it (camelCase, durations in seconds)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
