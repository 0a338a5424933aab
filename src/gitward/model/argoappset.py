"""Reading an Argo CD ``argoproj.io/v1alpha1`` ApplicationSet as a gitward ApplicationSet.

gitward's ApplicationSet has Argo CD's shape (``model/appset.py``), so the spec is read as written;
what differs is the template, an Argo CD Application, which each generated Application is read from
with ``model/argocd.py`` (its refusals apply to every generated app). As Argo CD does, a generated
app gets Argo CD's resources finalizer (its objects are deleted with it) unless the template names
finalizers of its own or ``syncPolicy.preserveResourcesOnDeletion`` is true (``gitward.appset``).

Refused, naming the field: progressive syncs (``spec.strategy``), ``ignoreApplicationDifferences``,
``preservedFields``, the set's own ``metadata.finalizers``, ``syncPolicy`` fields other than
``applicationsSync`` and ``preserveResourcesOnDeletion``, and (in ``model/appsetgen.py``) the
generators gitward does not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.model.appset import ARGO_APPSET_ORIGIN, ApplicationSet
from gitward.model.argocd import ARGO_API_VERSION
from gitward.model.common import API_VERSION
from gitward.model.errors import ConversionError
from gitward.model.foreign import converted_metadata, mapping, only

ARGO_APPSET_KIND = "ApplicationSet"
_SPEC_FIELDS = {
    "generators",
    "goTemplate",
    "goTemplateOptions",
    "template",
    "templatePatch",
    "syncPolicy",
    "applyNestedSelectors",
}
_SYNC_FIELDS = {"applicationsSync", "preserveResourcesOnDeletion"}


def is_argocd_applicationset(obj: Mapping[str, Any]) -> bool:
    return obj.get("apiVersion") == ARGO_API_VERSION and obj.get("kind") == ARGO_APPSET_KIND


def from_argocd_applicationset(obj: Mapping[str, Any]) -> ApplicationSet:
    """The gitward ApplicationSet that runs ``obj``; ConversionError or pydantic ValidationError if not."""
    spec = dict(mapping(obj.get("spec"), "spec"))
    if spec.get("strategy") is not None:
        raise ConversionError("spec.strategy (progressive syncs) is not supported by gitward")
    only(spec, allowed=_SPEC_FIELDS, where="spec")
    if spec.get("syncPolicy") is not None:
        only(mapping(spec["syncPolicy"], "spec.syncPolicy"), allowed=_SYNC_FIELDS, where="spec.syncPolicy")
    if mapping(obj.get("metadata"), "metadata").get("finalizers"):
        raise ConversionError(
            "metadata.finalizers of an ApplicationSet is not supported by gitward: what happens to a "
            "generated app's objects is its own deletionPolicy (the template's finalizers, or "
            "spec.syncPolicy.preserveResourcesOnDeletion)"
        )
    metadata = converted_metadata(obj, origin=ARGO_APPSET_ORIGIN)
    document = {"apiVersion": API_VERSION, "kind": "ApplicationSet", "metadata": metadata, "spec": spec}
    return ApplicationSet.model_validate(document)
