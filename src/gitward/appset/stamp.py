"""From parameter sets to Applications: the template rendered, patched, marked and validated.

For each parameter set: every string of the template is rendered (``gitward.templating``); the
``templatePatch``, rendered as one text, must be a YAML mapping and is applied as a JSON merge
patch (maps merged, lists replaced, ``null`` removes; a list of JSON patch operations and a change
of ``spec.project`` are refused, as Argo CD refuses the latter); the Application is annotated with
the set that made it; ``preserveResourcesOnDeletion`` makes a gitward Application's
``deletionPolicy`` ``orphan``, and an Argo CD one gets Argo CD's resources finalizer unless the set
preserves resources or the template names finalizers. The document is then read as any Application
of its kind (``model.load_object``), so every rule of the Application applies.

A set whose Application cannot be made, and two sets making one name, are problems: those
Applications are not made, the others are, and the caller deletes nothing while any problem
remains (a refused app is not an app that left).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from gitward.appset.params import ParamSet
from gitward.model import Application, describe, load_object
from gitward.model.appset import GENERATED_BY_ANNOTATION, ApplicationSet
from gitward.model.argocd import ARGO_API_VERSION, RESOURCES_FINALIZER
from gitward.model.common import API_VERSION
from gitward.model.errors import ConversionError
from gitward.model.foreign import inline_values
from gitward.templating import Renderer, TemplateError


@dataclass(frozen=True)
class Stamped:
    """The Applications a set makes (by name, in parameter order) and what could not be made."""

    apps: dict[str, Application] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


class PatchError(ValueError):
    """A templatePatch that does not give a merge patch gitward applies."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merged key by key, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _patch(text: str) -> dict[str, Any]:
    if text.lstrip().startswith("["):
        raise PatchError(
            "templatePatch gives a list (JSON patch operations); gitward applies merge patches (a mapping)"
        )
    try:
        patch = inline_values(text, "templatePatch")
    except ConversionError as exc:
        raise PatchError(str(exc)) from None
    spec = patch.get("spec")
    if isinstance(spec, Mapping) and "project" in spec:
        raise PatchError("templatePatch may not change spec.project (as in Argo CD); set it in the template")
    return patch


class Stamper:
    """Makes the Applications of one set."""

    def __init__(self, appset: ApplicationSet) -> None:
        self._appset = appset
        self._renderer: Renderer = appset.spec.renderer()
        self._template = appset.spec.template.model_dump(by_alias=True, exclude_defaults=True)
        self._template.setdefault("spec", {})

    def stamp(self, param_sets: list[ParamSet]) -> Stamped:
        apps: dict[str, Application] = {}
        problems: list[str] = []
        twice: set[str] = set()
        for index, params in enumerate(param_sets):
            try:
                app = self.application(params)
            except (TemplateError, PatchError, ConversionError, ValueError) as exc:
                text = describe(exc) if isinstance(exc, pydantic.ValidationError) else str(exc)
                problems.append(f"parameter set {index + 1}: {text}")
                continue
            if app.name in apps:
                twice.add(app.name)
            apps[app.name] = app
        for name in sorted(twice):
            del apps[name]
            problems.append(
                f"application {name!r} is made by more than one parameter set; none of them is made"
            )
        return Stamped(apps=apps, problems=tuple(problems))

    def document(self, params: ParamSet) -> dict[str, Any]:
        """The Application document ``params`` makes, before it is read."""
        spec = self._appset.spec
        rendered = self._renderer.render_tree(self._template, params)
        if spec.template_patch is not None:
            rendered = merge_patch(rendered, _patch(self._renderer.render(spec.template_patch, params)))
        metadata = dict(rendered.get("metadata") or {})
        metadata["annotations"] = {
            **(metadata.get("annotations") or {}),
            GENERATED_BY_ANNOTATION: self._appset.name,
        }
        app_spec = dict(rendered.get("spec") or {})
        preserve = spec.sync_policy.preserve_resources_on_deletion
        if self._appset.argocd:
            if not preserve and not metadata.get("finalizers"):
                metadata["finalizers"] = [RESOURCES_FINALIZER]
            api_version = ARGO_API_VERSION
        else:
            if preserve:
                app_spec["deletionPolicy"] = "orphan"
            api_version = API_VERSION
        return {"apiVersion": api_version, "kind": "Application", "metadata": metadata, "spec": app_spec}

    def application(self, params: ParamSet) -> Application:
        loaded = load_object(self.document(params))
        if not isinstance(loaded, Application):
            raise ValueError("the template does not make an Application")
        return loaded
