"""Running an ApplicationSet's generators: the list of parameter sets, one per Application.

Each top-level generator's sets are listed in turn, in the generator's own order (list: elements;
clusters: by name; Git: by path), so the result is deterministic. ``list`` gives its elements (with
the default syntax every value must be a string, and ``values`` becomes ``values.<key>``);
``clusters`` gives one set per selected Cluster (``name``, ``nameNormalized``, ``server`` for
in-cluster, ``metadata.labels.<k>``, ``metadata.annotations.<k>``, ``values.<k>``); Git generators
are in ``gitgen``. ``matrix`` runs its second generator once per set of the first, with the first's
parameters filled into the second's fields (a second generator whose fields use none runs once);
``merge`` is in ``params``. A post-``selector`` keeps the sets whose string parameters it selects.
A generator's ``values`` are rendered with its own parameters (and, in a matrix, the first
generator's).

Any error fails the whole generation, naming the generator: a set made of what could be read would
look like apps that left, and deleting apps must never follow from a failure. So does giving more
than ``MAX_PARAMETER_SETS`` sets (a matrix multiplies): refused, never cut short.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic

from gitward.appset.gitgen import git_params
from gitward.appset.inputs import Inputs, NotFetched
from gitward.appset.matching import selects
from gitward.appset.params import GeneratorError, ParamSet, matrix_combine, merge_sets, string_values
from gitward.model import describe
from gitward.model.appset import ApplicationSet
from gitward.model.appsetgen import AnyGenerator, ClusterGenerator, ListGenerator, kind_of
from gitward.templating import Renderer, TemplateError
from gitward.templating.gofuncs import normalize

_NO_PARAMS: ParamSet = {}
#: Parameter sets one ApplicationSet may give (a matrix multiplies): more is refused, not truncated.
MAX_PARAMETER_SETS = 10_000


def _bounded(sets: list[ParamSet]) -> list[ParamSet]:
    if len(sets) > MAX_PARAMETER_SETS:
        raise GeneratorError(f"the generators give more than {MAX_PARAMETER_SETS} parameter sets")
    return sets


class Generation:
    """The generators of one set over one ``Inputs``."""

    def __init__(self, appset: ApplicationSet, inputs: Inputs) -> None:
        self.go = appset.spec.go_template
        self.renderer: Renderer = appset.spec.renderer()
        self.inputs = inputs
        self._generators = appset.spec.generators

    def params(self) -> list[ParamSet]:
        out: list[ParamSet] = []
        for index, generator in enumerate(self._generators):
            out += self._named(generator, f"generators[{index}]", _NO_PARAMS)
        return _bounded(out)

    def _named(self, generator: AnyGenerator, where: str, previous: ParamSet) -> list[ParamSet]:
        try:
            return self._run(generator, where, previous)
        except (GeneratorError, TemplateError) as exc:
            text = str(exc)
            raise GeneratorError(
                text if text.startswith("generators[") else f"{where}.{kind_of(generator)}: {text}"
            ) from None

    def _run(self, generator: AnyGenerator, where: str, previous: ParamSet) -> list[ParamSet]:
        kind = kind_of(generator)
        sets: list[ParamSet]
        if generator.list_ is not None:
            sets = self._list(generator.list_)
        elif generator.clusters is not None:
            sets = self._clusters(generator.clusters, previous)
        elif generator.git is not None:
            sets = git_params(
                generator.git, self.inputs.repositories, self.renderer, go=self.go, previous=previous
            )
        else:
            sets = self._combined(generator, f"{where}.{kind}")
        if generator.selector is not None:
            selector = generator.selector
            sets = [p for p in sets if selects(selector, string_values(p))]
        return sets

    def _combined(self, generator: AnyGenerator, where: str) -> list[ParamSet]:
        matrix, merge = getattr(generator, "matrix", None), getattr(generator, "merge", None)
        if matrix is not None:
            return self._matrix(tuple(matrix.generators), where)
        if merge is None:
            raise GeneratorError("the generator names no kind")
        children = tuple(merge.generators)
        sets = [
            self._named(child, f"{where}.generators[{i}]", _NO_PARAMS) for i, child in enumerate(children)
        ]
        return merge_sets(sets[0], sets[1:], keys=merge.merge_keys, go=self.go)

    def _matrix(self, children: tuple[Any, ...], where: str) -> list[ParamSet]:
        first, second = children
        out: list[ParamSet] = []
        runs: dict[str, list[ParamSet]] = {}
        for params in self._named(first, f"{where}.generators[0]", _NO_PARAMS):
            child = self._interpolated(second, params)
            key = json.dumps(child.model_dump(by_alias=True, exclude_none=True), sort_keys=True)
            if key not in runs:  # a second generator that reads nothing of the first runs once
                runs[key] = self._named(child, f"{where}.generators[1]", params)
            out += [matrix_combine(params, own, go=self.go) for own in runs[key]]
            _bounded(out)
        return out

    def _interpolated(self, generator: AnyGenerator, params: ParamSet) -> AnyGenerator:
        """The generator with ``params`` filled into its fields (its ``values`` are rendered later,
        with its own parameters too)."""
        document = generator.model_dump(by_alias=True, exclude_none=True)
        filled = {key: self._fill(key, value, params) for key, value in document.items()}
        try:
            return type(generator).model_validate(filled)
        except pydantic.ValidationError as exc:
            raise GeneratorError(describe(exc)) from None

    def _fill(self, kind: str, body: Any, params: ParamSet) -> Any:
        if kind == "selector" or not isinstance(body, Mapping):
            return self.renderer.render_tree(body, params, lenient=True)
        return {
            key: value if key == "values" else self.renderer.render_tree(value, params, lenient=True)
            for key, value in body.items()
        }

    def _list(self, generator: ListGenerator) -> list[ParamSet]:
        if self.go:
            return [dict(element) for element in generator.elements]
        return [_flat_element(element, i) for i, element in enumerate(generator.elements)]

    def _clusters(self, generator: ClusterGenerator, previous: ParamSet) -> list[ParamSet]:
        out: list[ParamSet] = []
        for cluster in sorted(self.inputs.clusters, key=lambda c: c.name):
            if cluster.implicit and not generator.selector.empty:
                continue  # as in Argo CD: the local cluster has no labels to select on
            if not selects(generator.selector, cluster.labels):
                continue
            params = _cluster_params(cluster, go=self.go)
            out.append(self._with_values(params, generator.values, previous))
        return out

    def _with_values(self, params: ParamSet, values: Mapping[str, str], previous: ParamSet) -> ParamSet:
        if not values:
            return params
        context = {**previous, **params}
        rendered = {key: self.renderer.render(text, context) for key, text in values.items()}
        if self.go:
            return {**params, "values": rendered}
        return {**params, **{f"values.{key}": value for key, value in rendered.items()}}


def _flat_element(element: Mapping[str, Any], index: int) -> ParamSet:
    out: ParamSet = {}
    for key, value in element.items():
        if key == "values" and isinstance(value, Mapping):
            for name, inner in value.items():
                out[f"values.{name}"] = _string(inner, f"elements[{index}].values.{name}")
        else:
            out[str(key)] = _string(value, f"elements[{index}].{key}")
    return out


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise GeneratorError(
            f"{where} must be a string with the default template syntax (goTemplate: true takes any value)"
        )
    return value


def _cluster_params(cluster: Any, *, go: bool) -> ParamSet:
    common: ParamSet = {"name": cluster.name, "nameNormalized": normalize(cluster.name)}
    if cluster.server:
        common["server"] = cluster.server
    labels, annotations = dict(cluster.labels), dict(cluster.annotations)
    if go:
        return {**common, "metadata": {"labels": labels, "annotations": annotations}}
    common.update({f"metadata.labels.{k}": v for k, v in labels.items()})
    common.update({f"metadata.annotations.{k}": v for k, v in annotations.items()})
    return common


def generate(appset: ApplicationSet, inputs: Inputs) -> list[ParamSet]:
    """Every parameter set of ``appset``; raises GeneratorError (naming the generator) or NotFetched."""
    return Generation(appset, inputs).params()


__all__ = ["Generation", "GeneratorError", "NotFetched", "generate"]
