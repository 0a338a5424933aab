"""The generators of an ApplicationSet (``model/appset.py``), shaped as Argo CD's.

``list`` (``elements``), ``clusters`` (a label ``selector`` over gitward's Cluster objects,
``values``), ``git`` (``repoURL``, ``revision``, ``directories`` or ``files`` with ``exclude``
entries, ``pathParamPrefix``, ``values``, ``requeueAfterSeconds``), ``matrix`` (two generators) and
``merge`` (``mergeKeys``, two or more generators), each with an optional post-``selector`` over the
parameters it gives. Matrix and merge nest once, as in Argo CD, so the models are three levels
(``Generator`` > ``NestedGenerator`` > ``LeafGenerator``) and have no recursion (the CRD schema
needs none).

Refused by name: Argo CD's other generators (pull requests, SCM providers, plugins, cluster decision
resources...), a generator's own ``template``, ``elementsYaml``, ``flatList``. Strings may hold
template tags (a matrix's second generator reads the first's parameters), so a repoURL is checked
when the generator runs, not here.

Deliberately not here: running generators (``gitward.appset``).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from gitward.model.common import SpecModel

GENERATOR_KINDS = ("list", "clusters", "git", "matrix", "merge")
_ARGO_GENERATORS = (
    "pullRequest",
    "scmProvider",
    "plugin",
    "clusterDecisionResource",
)


class SelectorRequirement(SpecModel):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values_fit_operator(self) -> Self:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs values")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class LabelSelector(SpecModel):
    """Kubernetes' label selector: every ``matchLabels`` entry and every expression must hold."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[SelectorRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


class ListGenerator(SpecModel):
    elements: tuple[dict[str, Any], ...] = ()


class ClusterGenerator(SpecModel):
    selector: LabelSelector = Field(default_factory=LabelSelector)
    values: dict[str, str] = Field(default_factory=dict)


class GitPath(SpecModel):
    path: str = Field(min_length=1)
    exclude: bool = False


class GitGenerator(SpecModel):
    repo_url: str = Field(alias="repoURL", min_length=1)
    revision: str = "HEAD"
    directories: tuple[GitPath, ...] = ()
    files: tuple[GitPath, ...] = ()
    path_param_prefix: str = ""
    values: dict[str, str] = Field(default_factory=dict)
    # How often the set is generated again to see new commits (Argo CD's default: 3 minutes).
    requeue_after_seconds: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _directories_or_files(self) -> Self:
        if bool(self.directories) == bool(self.files):
            raise ValueError("a git generator takes directories or files (one of them)")
        if not any(not item.exclude for item in (*self.directories, *self.files)):
            raise ValueError("a git generator needs at least one path that is not excluded")
        return self


def _refuse_foreign(data: Any) -> Any:
    """Name Argo CD's generators gitward does not run, and the one-generator-per-entry rule."""
    if not isinstance(data, dict):
        return data
    for name in _ARGO_GENERATORS:
        if name in data:
            raise ValueError(
                f"the {name} generator is not supported by gitward (supported: {', '.join(GENERATOR_KINDS)})"
            )
    kinds = [k for k in GENERATOR_KINDS if data.get(k) is not None]
    if len(kinds) != 1:
        raise ValueError(f"each generator entry names exactly one of {', '.join(GENERATOR_KINDS)}")
    inner = data.get(kinds[0])
    if isinstance(inner, dict) and "template" in inner:
        raise ValueError(f"{kinds[0]}.template (a generator's own template) is not supported by gitward")
    return data


class LeafGenerator(SpecModel):
    """A generator inside a nested matrix or merge: no further nesting."""

    list_: ListGenerator | None = Field(default=None, alias="list")
    clusters: ClusterGenerator | None = None
    git: GitGenerator | None = None
    selector: LabelSelector | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("matrix") is not None or data.get("merge") is not None):
            raise ValueError("matrix and merge generators nest only once (as in Argo CD)")
        return _refuse_foreign(data)


class NestedMatrix(SpecModel):
    generators: tuple[LeafGenerator, ...] = Field(min_length=2, max_length=2)


class NestedMerge(SpecModel):
    merge_keys: tuple[str, ...] = Field(min_length=1)
    generators: tuple[LeafGenerator, ...] = Field(min_length=2)


class NestedGenerator(SpecModel):
    list_: ListGenerator | None = Field(default=None, alias="list")
    clusters: ClusterGenerator | None = None
    git: GitGenerator | None = None
    matrix: NestedMatrix | None = None
    merge: NestedMerge | None = None
    selector: LabelSelector | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        return _refuse_foreign(data)


class MatrixGenerator(SpecModel):
    generators: tuple[NestedGenerator, ...] = Field(min_length=2, max_length=2)


class MergeGenerator(SpecModel):
    merge_keys: tuple[str, ...] = Field(min_length=1)
    generators: tuple[NestedGenerator, ...] = Field(min_length=2)


class Generator(SpecModel):
    list_: ListGenerator | None = Field(default=None, alias="list")
    clusters: ClusterGenerator | None = None
    git: GitGenerator | None = None
    matrix: MatrixGenerator | None = None
    merge: MergeGenerator | None = None
    selector: LabelSelector | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        return _refuse_foreign(data)


AnyGenerator = Generator | NestedGenerator | LeafGenerator


def kind_of(generator: AnyGenerator) -> str:
    """``list``, ``clusters``, ``git``, ``matrix`` or ``merge``."""
    for kind in GENERATOR_KINDS:
        if getattr(generator, "list_" if kind == "list" else kind, None) is not None:
            return kind
    raise ValueError("generator names no kind")
