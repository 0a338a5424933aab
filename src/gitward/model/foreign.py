"""Helpers shared by the Argo CD and Flux readers: strict field checks, safe YAML for values, and the
kinds of both projects gitward recognises.

Foreign objects are converted into gitward documents and then validated as Applications, so every
gitward rule applies to them too. A foreign field gitward cannot honour is an error naming that field,
never silently dropped: running an object differently from what its author meant is worse than not
running it.

``FOREIGN_KINDS`` names every Argo CD and Flux kind, what it is, and what to write instead. An object
of one of these kinds is never taken for something else: in the config it is read (an Argo CD
Application or AppProject, a Flux Kustomization or HelmRelease with its source) or refused with
that description; in a render it is refused the same way when the cluster does not serve its kind.
When the cluster does serve it (Argo CD or Flux runs there too), it is applied like any other
object, as Argo CD would, and that controller runs it. A Flux Kustomization's source may be a
GitRepository or an OCIRepository; a HelmRelease's a HelmRepository, a GitRepository or an
OCIRepository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from gitward.core.errors import ValidationError
from gitward.model.common import API_VERSION
from gitward.model.errors import ConversionError

#: Annotation on converted Applications naming the object they were read from.
CONVERTED_FROM_ANNOTATION = "gitward.dev/converted-from"

#: Inline Helm values written as a YAML string are capped before parsing (docs/architecture.md, safety rules).
MAX_INLINE_VALUES_BYTES = 1 << 20


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a mapping (``None`` -> empty), or an error naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConversionError(f"{where} must be a mapping")
    return value


def only(data: Mapping[str, Any], *, allowed: Iterable[str], where: str) -> None:
    """Refuse fields gitward does not run; the first unknown one (sorted) is named."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConversionError(f"{where}.{unknown[0]} is not supported by gitward")


def pick(data: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """Copy the keys present in ``data`` under their gitward names."""
    return {new: data[old] for old, new in renames.items() if data.get(old) is not None}


def inline_values(text: Any, where: str) -> dict[str, Any]:
    """Helm values written as a YAML string: size-capped, aliases refused, must be a mapping.

    Parser messages are not passed on: they quote the text, which may hold secrets.
    """
    if not isinstance(text, str):
        raise ConversionError(f"{where} must be a YAML string")
    if len(text.encode()) > MAX_INLINE_VALUES_BYTES:
        raise ConversionError(f"{where} is larger than {MAX_INLINE_VALUES_BYTES} bytes")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ConversionError(f"{where} uses YAML aliases, which are not allowed")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConversionError(f"{where} is not valid YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConversionError(f"{where} must be a YAML mapping")
    return data


def converted_metadata(obj: Mapping[str, Any], *, origin: str) -> dict[str, Any]:
    """Name, namespace, labels and annotations of the foreign object, plus where it came from."""
    meta = mapping(obj.get("metadata"), "metadata")
    annotations = dict(mapping(meta.get("annotations"), "metadata.annotations"))
    annotations[CONVERTED_FROM_ANNOTATION] = origin
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace") or "",
        "labels": dict(mapping(meta.get("labels"), "metadata.labels")),
        "annotations": annotations,
    }


def application_document(metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": spec}


@dataclass(frozen=True)
class ForeignKind:
    """What an Argo CD or Flux kind is (``what``, ``plural``) and what a gitward user writes instead.

    ``in_config``: gitward reads objects of this kind in its config (some versions of them).
    """

    what: str
    plural: str
    instead: str
    in_config: bool = False


_ARGO = "argoproj.io"
_FLUX_SOURCE = "source.toolkit.fluxcd.io"
_FLUX_IMAGE = "image.toolkit.fluxcd.io"
_FLUX_NOTIFICATION = "notification.toolkit.fluxcd.io"
_IN_GIT = "keep the manifests in a Git repository and declare an Application that reads them instead"
_PIN_IMAGES = "write the image tags in Git (kustomize images or Helm values) instead"

#: (group, kind) -> what it is. Keyed by group and kind only: every version of a kind is that kind.
FOREIGN_KINDS: Mapping[tuple[str, str], ForeignKind] = {
    (_ARGO, "Application"): ForeignKind(
        "an Argo CD Application",
        "Argo CD Applications of versions other than argoproj.io/v1alpha1",
        "declare it in the gitward config, or render a gitward.dev/v1alpha1 Application instead",
        in_config=True,
    ),
    (_ARGO, "ApplicationSet"): ForeignKind(
        "an Argo CD ApplicationSet",
        "Argo CD ApplicationSets rendered by an app",
        "declare it in the gitward config instead",
        in_config=True,
    ),
    (_ARGO, "AppProject"): ForeignKind(
        "an Argo CD AppProject",
        "Argo CD AppProjects rendered by an app",
        "declare it in the gitward config, or render a gitward.dev/v1alpha1 Project instead",
        in_config=True,
    ),
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): ForeignKind(
        "a Flux Kustomization",
        "Flux Kustomizations rendered by an app",
        "declare it with its GitRepository in the gitward config, or render a gitward.dev/v1alpha1 "
        "Application instead",
        in_config=True,
    ),
    (_FLUX_SOURCE, "GitRepository"): ForeignKind(
        "a Flux Git source",
        "Flux GitRepositories on their own",
        "name the repository in an Application's source (or declare it next to its Flux Kustomization "
        "in the gitward config) instead",
        in_config=True,
    ),
    (_FLUX_SOURCE, "HelmRepository"): ForeignKind(
        "a Flux Helm repository",
        "Flux HelmRepositories on their own",
        "name the chart repository in an Application with a Helm source (or declare it next to its "
        "HelmRelease in the gitward config) instead",
        in_config=True,
    ),
    (_FLUX_SOURCE, "HelmChart"): ForeignKind(
        "a Flux Helm chart source", "Flux HelmCharts", "declare an Application with a Helm source instead"
    ),
    (_FLUX_SOURCE, "OCIRepository"): ForeignKind(
        "a Flux OCI source",
        "Flux OCIRepositories on their own",
        "name the artifact as an Application's oci:// source (or declare it next to its Flux Kustomization "
        "in the gitward config) instead",
        in_config=True,
    ),
    (_FLUX_SOURCE, "Bucket"): ForeignKind(
        "a Flux bucket source",
        "Flux Buckets on their own",
        "name the bucket as an Application's s3:// source (or declare it next to its Flux Kustomization "
        "in the gitward config) instead",
        in_config=True,
    ),
    (_FLUX_SOURCE, "ExternalArtifact"): ForeignKind(
        "a Flux external artifact", "Flux ExternalArtifacts", _IN_GIT
    ),
    ("source.extensions.fluxcd.io", "ArtifactGenerator"): ForeignKind(
        "a Flux artifact generator",
        "Flux ArtifactGenerators",
        "declare one Application per path it would package instead",
    ),
    ("helm.toolkit.fluxcd.io", "HelmRelease"): ForeignKind(
        "a Flux Helm release",
        "Flux HelmReleases rendered by an app",
        "declare it with its chart's source in the gitward config, or render a gitward.dev/v1alpha1 "
        "Application with a Helm source instead",
        in_config=True,
    ),
    (_FLUX_IMAGE, "ImageRepository"): ForeignKind(
        "a Flux image repository scan", "Flux image automation", _PIN_IMAGES
    ),
    (_FLUX_IMAGE, "ImagePolicy"): ForeignKind("a Flux image policy", "Flux image automation", _PIN_IMAGES),
    (_FLUX_IMAGE, "ImageUpdateAutomation"): ForeignKind(
        "a Flux image update automation", "Flux image automation", _PIN_IMAGES
    ),
    (_FLUX_NOTIFICATION, "Alert"): ForeignKind(
        "a Flux alert", "Flux Alerts", "declare a gitward Notification in the config instead"
    ),
    (_FLUX_NOTIFICATION, "Provider"): ForeignKind(
        "a Flux notification provider",
        "Flux Providers",
        "declare a gitward Notification with that target in the config instead",
    ),
    (_FLUX_NOTIFICATION, "Receiver"): ForeignKind(
        "a Flux webhook receiver", "Flux Receivers", "declare a gitward Receiver in the config instead"
    ),
}

#: Reason of the error that refuses a render holding foreign objects the cluster does not serve.
FOREIGN_REASON = "ForeignObject"
#: Foreign objects named in one refusal; the rest are counted.
MAX_NAMED = 5


def group_of(api_version: str) -> str:
    """``helm.toolkit.fluxcd.io/v2`` -> ``helm.toolkit.fluxcd.io``; ``v1`` -> ``""``."""
    return api_version.rpartition("/")[0]


def foreign_kind(group: str, kind: str) -> ForeignKind | None:
    return FOREIGN_KINDS.get((group, kind))


def describe_foreign(group: str, kind: str) -> str | None:
    """What an object of ``group``/``kind`` is and what to write instead, or None when the kind is not
    an Argo CD or Flux one: "is a Flux Helm release; gitward does not run Flux HelmReleases: ..."."""
    found = foreign_kind(group, kind)
    if found is None:
        return None
    return f"is {found.what}; gitward does not run {found.plural}: {found.instead}"


def foreign_object_message(api_version: str, kind: str, name: str) -> str | None:
    """The sentence that refuses one object: "HelmRelease podinfo (helm.toolkit.fluxcd.io/v2) is a
    Flux Helm release; ...", or None when its kind is not an Argo CD or Flux one."""
    described = describe_foreign(group_of(api_version), kind)
    if described is None:
        return None
    return f"{kind} {name or '(unnamed)'} ({api_version}) {described}"


def foreign_refusal(objects: Iterable[tuple[str, str, str]]) -> ValidationError | None:
    """One error for the Argo CD and Flux objects among ``objects`` ((apiVersion, kind, name) of
    objects whose kind the cluster does not serve), or None when there is none.

    Only called for kinds the cluster does not serve: a served kind is applied as any object is.
    """
    messages = list(dict.fromkeys(m for a, k, n in objects if (m := foreign_object_message(a, k, n))))
    if not messages:
        return None
    shown = "; ".join(messages[:MAX_NAMED])
    if len(messages) > MAX_NAMED:
        shown += f"; and {len(messages) - MAX_NAMED} more Argo CD or Flux objects"
    return ValidationError(f"{shown}; nothing is applied", reason=FOREIGN_REASON)
