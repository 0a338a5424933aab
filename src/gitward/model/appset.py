"""The ``ApplicationSet`` object: generators stamping out Applications from one template.

Shaped as Argo CD's ApplicationSet, so one written for Argo CD reads the same (``model/argoappset.py``
reads ``argoproj.io/v1alpha1`` ones as they are): ``generators`` (``model/appsetgen.py``),
``goTemplate`` and ``goTemplateOptions``, ``template`` (an Application's ``metadata`` and ``spec``,
whose strings may hold template tags), ``templatePatch`` (a Go template giving a YAML merge patch),
``syncPolicy.applicationsSync`` and ``syncPolicy.preserveResourcesOnDeletion``, and
``applyNestedSelectors``.

``applicationsSync`` says what the set may do to the Applications it made: ``create-only``,
``create-update`` (gitward's default: a generated app that the generators no longer give is kept),
``create-delete`` (created and deleted, never updated) and ``sync`` (all three). Argo CD's default is
``sync``; gitward's is ``create-update``, so an app leaves only when a set says it may.
``preserveResourcesOnDeletion: true`` makes every generated app's ``deletionPolicy`` ``orphan``.

The template is checked when the config is loaded: with ``goTemplate: true`` every string of it, the
patch and the generators' ``values`` must parse and use only the constructs gitward runs
(``gitward.templating``). A gitward template is a gitward Application (``spec.destination.cluster``,
``spec.deletionPolicy``); an Argo CD one is an Argo CD Application. Each generated Application is
validated like any other when the set is generated (``gitward.appset``).

Deliberately not here: generating (``gitward.appset``), registering generated apps (``reconcile/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, Self

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from gitward.model.application import ApplicationSpec
from gitward.model.appsetgen import Generator, NestedGenerator
from gitward.model.argocd import ARGO_SPEC_FIELDS
from gitward.model.common import SpecModel, TopLevelObject
from gitward.model.errors import field_path
from gitward.model.foreign import CONVERTED_FROM_ANNOTATION
from gitward.templating import Renderer, TemplateError

#: The origin a set read from Argo CD's kind carries (``model/argoappset.py``).
ARGO_APPSET_ORIGIN = "argoproj.io/v1alpha1/ApplicationSet"
#: The annotation every generated Application carries: the set that made it.
GENERATED_BY_ANNOTATION = "gitward.dev/application-set"

ApplicationsSync = Literal["create-only", "create-update", "create-delete", "sync"]
DEFAULT_APPLICATIONS_SYNC: ApplicationsSync = "create-update"


class TemplateMetadata(SpecModel):
    name: str = Field(min_length=1)
    namespace: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: tuple[str, ...] = ()  # Argo CD templates only: its resources finalizers


class ApplicationTemplate(SpecModel):
    metadata: TemplateMetadata
    spec: dict[str, Any]


class ApplicationSetSyncPolicy(SpecModel):
    applications_sync: ApplicationsSync | None = None
    preserve_resources_on_deletion: bool = False

    @property
    def policy(self) -> ApplicationsSync:
        return self.applications_sync or DEFAULT_APPLICATIONS_SYNC

    @property
    def updates(self) -> bool:
        return self.policy in ("create-update", "sync")

    @property
    def deletes(self) -> bool:
        return self.policy in ("create-delete", "sync")


class ApplicationSetSpec(SpecModel):
    generators: tuple[Generator, ...] = Field(min_length=1)
    go_template: bool = False
    go_template_options: tuple[str, ...] = ()
    template: ApplicationTemplate
    template_patch: str | None = None
    sync_policy: ApplicationSetSyncPolicy = Field(default_factory=ApplicationSetSyncPolicy)
    apply_nested_selectors: bool = False

    def renderer(self) -> Renderer:
        """The template language of this set (raises TemplateError for a refused option)."""
        return Renderer(go=self.go_template, options=self.go_template_options)

    @model_validator(mode="after")
    def _templates_run(self) -> Self:
        try:
            renderer = self.renderer()
        except TemplateError as exc:
            raise ValueError(f"goTemplateOptions: {exc}") from None
        if self.template_patch is not None and not self.go_template:
            raise ValueError("templatePatch needs goTemplate: true (as in Argo CD)")
        for where, text in self._templated_strings():
            try:
                renderer.check(text)
            except TemplateError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if not self.apply_nested_selectors:
            _refuse_nested_selectors(self.generators)
        return self

    def _templated_strings(self) -> Iterator[tuple[str, str]]:
        template = self.template.model_dump(by_alias=True, exclude_defaults=True)
        yield from _strings(template, ["template"])
        if self.template_patch is not None:
            yield "templatePatch", self.template_patch
        for i, generator in enumerate(self.generators):
            dumped = generator.model_dump(by_alias=True, exclude_none=True)
            for kind, body in dumped.items():
                if isinstance(body, dict) and isinstance(body.get("values"), dict):
                    yield from _strings(body["values"], ["generators", i, kind, "values"])


def _strings(value: Any, path: list[str | int]) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield field_path(path), value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield field_path([*path, key]), str(key)
            yield from _strings(item, [*path, key])
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, [*path, i])


def _refuse_nested_selectors(generators: tuple[Generator, ...]) -> None:
    """Argo CD drops a selector on a generator inside a nested matrix or merge unless
    ``applyNestedSelectors`` is set; gitward would apply it, so it asks for the field instead."""
    for i, generator in enumerate(generators):
        combined = generator.matrix or generator.merge
        for j, child in enumerate(combined.generators if combined is not None else ()):
            inner = _nested(child)
            if any(leaf.selector is not None for leaf in inner):
                raise ValueError(
                    f"generators[{i}] generators[{j}]: a selector inside a nested matrix or merge is "
                    "ignored by Argo CD unless spec.applyNestedSelectors is true; set it so gitward "
                    "applies it"
                )


def _nested(child: NestedGenerator) -> tuple[Any, ...]:
    combined = child.matrix or child.merge
    return combined.generators if combined is not None else ()


class ApplicationSet(TopLevelObject):
    kind: Literal["ApplicationSet"] = "ApplicationSet"
    spec: ApplicationSetSpec

    @property
    def argocd(self) -> bool:
        """Read from Argo CD's kind: the template is an Argo CD Application."""
        return self.metadata.annotations.get(CONVERTED_FROM_ANNOTATION) == ARGO_APPSET_ORIGIN

    @model_validator(mode="after")
    def _template_fields_known(self) -> Self:
        """The template's spec names only fields its kind of Application has (deeper fields are
        checked on each generated Application)."""
        fields = set(self.spec.template.spec)
        if self.argocd:
            if "sources" in fields:
                raise ValueError("spec.template.spec.sources (multiple sources) is not supported by gitward")
            known = ARGO_SPEC_FIELDS
        else:
            if self.spec.template.metadata.finalizers:
                raise ValueError(
                    "spec.template.metadata.finalizers: a gitward template says what happens to an "
                    "app's objects with spec.template.spec.deletionPolicy"
                )
            known = frozenset(f.alias or to_camel(n) for n, f in ApplicationSpec.model_fields.items())
        unknown = sorted(fields - known)
        if unknown:
            raise ValueError(f"spec.template.spec.{unknown[0]} is not supported by gitward")
        return self

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
