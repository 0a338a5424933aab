"""gitward.render (L2): manifests from a checked-out directory — plain YAML/JSON and Jsonnet, kustomize,
helm (with chart dependencies), config-management plugins.

Everything reads inside the checkout only (``safe_join`` is the one path rule, shared with other
entry points), tools run on temporary copies with timeouts and output caps, YAML is parsed with
Kubernetes' 1.1 rules and bounded. See ``renderers.render`` for the entry point.
"""

from gitward.render.cache import RenderCache, RenderKey
from gitward.render.chartdeps import ChartSource
from gitward.render.detect import detect_engine
from gitward.render.inputs import RenderInputs, render_inputs
from gitward.render.local import render_local
from gitward.render.params import (
    DEFAULT_SETTINGS,
    DirectoryParams,
    HelmParams,
    JsonnetParams,
    JsonnetVariable,
    KustomizeParams,
    PluginDefinition,
    PluginParameter,
    PluginParams,
    RenderParams,
    RenderSettings,
    RenderTools,
)
from gitward.render.renderers import render, render_cached
from gitward.render.result import RenderResult
from gitward.render.sandbox import safe_join
from gitward.render.substitute import substitute_manifests

__all__ = [
    "DEFAULT_SETTINGS",
    "ChartSource",
    "DirectoryParams",
    "HelmParams",
    "JsonnetParams",
    "JsonnetVariable",
    "KustomizeParams",
    "PluginDefinition",
    "PluginParameter",
    "PluginParams",
    "RenderCache",
    "RenderInputs",
    "RenderKey",
    "RenderParams",
    "RenderResult",
    "RenderSettings",
    "RenderTools",
    "detect_engine",
    "render",
    "render_cached",
    "render_inputs",
    "render_local",
    "safe_join",
    "substitute_manifests",
]
