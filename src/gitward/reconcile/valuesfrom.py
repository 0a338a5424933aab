"""Helm values from ConfigMaps and Secrets of the management cluster (``helm.valuesFrom``), read at
each render, as Flux's HelmRelease reads them.

In order: a reference with ``targetPath`` sets the key's text at that path, typed as ``--set`` types
it; one without merges the key's YAML (a mapping) into what came before, mappings merged key by key,
anything else replaced. The app's own ``values`` are merged last and win, then its ``parameters``
are set. A missing ConfigMap or Secret is skipped when the reference is ``optional``; a missing key
is an error either way, as in Flux.

The values reach only the render (and the render cache key as a digest): no message here quotes a
value, and parse errors name the object, key and line only. Read at every render, so a changed
ConfigMap or Secret takes effect at the app's next render (a refresh, a sync, a Git change, or the
periodic full comparison).

Deliberately not here: which config may name them (``model/secretrefs.py``), rendering.
"""

from __future__ import annotations

import copy
from typing import Any

from gitward.core.errors import FetchError, RenderError, Stalled
from gitward.model import Application
from gitward.model.errors import ConversionError
from gitward.model.foreign import CONVERTED_FROM_ANNOTATION, inline_values
from gitward.model.helmparams import parse_path, set_path, typed_value, with_parameters
from gitward.model.source import ValuesFrom
from gitward.reconcile.secrets import ClusterSecrets

_NOT_FOUND = frozenset({"SecretNotFound", "ConfigMapNotFound"})


def owner_of(app: Application) -> str:
    """Who names the references in messages: the HelmRelease it was read from, or the app."""
    origin = app.metadata.annotations.get(CONVERTED_FROM_ANNOTATION)
    if origin:
        return f"{origin.rpartition('/')[2]} {app.metadata.namespace or 'default'}/{app.name}"
    return f"Application {app.name!r}"


async def helm_values(app: Application, secrets: ClusterSecrets | None) -> dict[str, Any] | None:
    """The app's Helm values with its ``valuesFrom`` read now, parameters set; None when it has none."""
    helm = app.spec.source.helm
    if helm is None or not helm.values_from:
        return None
    if secrets is None:  # refused at load in a file config; never reached
        raise Stalled("helm.valuesFrom needs gitward run --from-cluster", reason="ValuesFromUnavailable")
    merged: dict[str, Any] = {}
    for index, ref in enumerate(helm.values_from):
        where = f"valuesFrom[{index}] of {owner_of(app)}"
        namespace = ref.namespace or app.metadata.namespace or "default"
        data = await _read(secrets, ref, namespace, where=where)
        if data is None:
            continue
        if ref.values_key not in data:
            raise RenderError(
                f"{ref.kind} {ref.name!r} in namespace {namespace!r} ({where}) has no key {ref.values_key!r}",
                reason="ValuesNotFound",
            )
        text = data[ref.values_key]
        if ref.target_path is not None:
            set_path(merged, parse_path(ref.target_path), typed_value(text, force_string=False))
            continue
        try:
            values = inline_values(text, f"key {ref.values_key!r} of {ref.kind} {ref.name!r} ({where})")
        except ConversionError as exc:
            raise RenderError(str(exc), reason="ValuesInvalid") from None
        merged = merge_values(merged, values)
    return with_parameters(merge_values(merged, helm.values), helm.parameters)


async def _read(
    secrets: ClusterSecrets, ref: ValuesFrom, namespace: str, *, where: str
) -> dict[str, str] | None:
    try:
        if ref.kind == "Secret":
            return await secrets.data(namespace, ref.name, owner=where)
        return await secrets.config_map(namespace, ref.name, owner=where)
    except FetchError as exc:
        if ref.optional and exc.reason in _NOT_FOUND:
            return None
        raise


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged into a copy of ``base``: mappings key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
