"""Parse YAML and JSON manifests the way kubectl does, with bounds on what a document may cost.

YAML follows Kubernetes' YAML 1.1 rules (sigs.k8s.io/yaml over go-yaml v2): ``0644`` is the int 420,
``yes``/``on`` are booleans, mapping keys become strings (``on: x`` gives ``"true"``), and, unlike
PyYAML's defaults, timestamps stay strings, ``1:20`` is not a base-60 number and ``=`` is a plain
string. Parsing uses libyaml (CSafeLoader) because this is the hot path of every render.

Bounds (docs/reliability.md, bad input 6): libyaml itself refuses nesting deeper than 1000; before a document
is constructed its node graph is measured, so an alias bomb (a few hundred bytes expanding to billions
of nodes) fails in microseconds with a clear error instead of exhausting memory later, and documents
nested deeper than ``max_depth`` are refused. File sizes are checked by the callers before reading.

Deliberately not here: finding files, validating that a document is a Kubernetes object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from gitward.core.errors import RenderError
from gitward.render.params import DEFAULT_SETTINGS, RenderSettings


class _KubeResolver(yaml.resolver.Resolver):
    """YAML 1.1 implicit types as go-yaml v2 resolves them into interface{} values."""


_KubeResolver.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:timestamp",
            "tag:yaml.org,2002:value",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        )
    ]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
# PyYAML's own int/float patterns minus the sexagesimal (base 60) forms that go-yaml never accepted.
_KubeResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_KubeResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _key_text(key: Any) -> Any:
    """sigs.k8s.io/yaml turns non-string keys into their YAML text; JSON needs string keys."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    raise yaml.constructor.ConstructorError(None, None, f"unsupported mapping key type {type(key).__name__}")


class KubeLoader(yaml.CSafeLoader, _KubeResolver):
    """libyaml parser + safe constructor + the resolver above; string keys only."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        raw = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in raw):
            return raw
        return {_key_text(key): value for key, value in raw.items()}


# CSafeLoader's MRO puts the stock Resolver first; resolve through ours instead.
KubeLoader.yaml_implicit_resolvers = _KubeResolver.yaml_implicit_resolvers

_Construct = Callable[[KubeLoader, Node], Any]


def _refusing_bad_scalars(tag: str, construct: _Construct) -> _Construct:
    """PyYAML's typed scalar constructors assume the text fits the tag: ``!!int a``, ``!!float ''``,
    ``!!bool maybe``, ``!!timestamp x`` or an int of more than 4300 digits escape as ValueError,
    IndexError, KeyError or AttributeError. Turn them into the YAML error every other bad input
    gives, so the loader only ever fails with ``RenderError`` (docs/reliability.md, "Fuzzing")."""

    def construct_checked(loader: KubeLoader, node: Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, IndexError, KeyError, AttributeError, OverflowError):
            raise yaml.constructor.ConstructorError(
                None, None, f"{str(node.value)[:40]!r} is not a valid {tag}", node.start_mark
            ) from None

    return construct_checked


for _tag in ("int", "float", "bool", "timestamp"):
    _full_tag = f"tag:yaml.org,2002:{_tag}"
    KubeLoader.add_constructor(
        _full_tag, _refusing_bad_scalars(_tag, KubeLoader.yaml_constructors[_full_tag])
    )


def _measure(root: Node, *, settings: RenderSettings, where: str) -> None:
    """Refuse a node graph that is too deep, recursive, uses too many aliases or expands too far.

    Aliases share one node object, so the expanded size is computed once per distinct node
    (memoised), which keeps this linear in the size of the text, not of the expansion.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path: meeting one again means a recursive alias
    aliases = 0
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]  # (node, depth, children_done)
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > settings.max_expanded_nodes:
                raise RenderError(
                    f"{where}: document expands to more than {settings.max_expanded_nodes} nodes "
                    "(YAML alias bomb?)"
                )
            sizes[key] = total
            open_nodes.discard(key)
            continue
        if key in open_nodes:
            raise RenderError(f"{where}: recursive YAML alias")
        if key in sizes:
            aliases += 1
            if aliases > settings.max_aliases:
                raise RenderError(f"{where}: more than {settings.max_aliases} YAML aliases in one document")
            continue
        if depth > settings.max_depth:
            raise RenderError(f"{where}: nesting deeper than {settings.max_depth} levels")
        if isinstance(node, MappingNode | SequenceNode):
            open_nodes.add(key)
            stack.append((node, depth, True))
            stack.extend((child, depth + 1, False) for child in _children(node))
        else:
            sizes[key] = 1


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            yield key_node
            yield value_node
    elif isinstance(node, SequenceNode):
        yield from node.value


def load_yaml_documents(
    text: str | bytes, *, where: str, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Any]:
    """Every document of a YAML stream, empty ones dropped; errors name ``where``."""
    loader = KubeLoader(text)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _measure(node, settings=settings, where=f"{where} (document {len(documents) + 1})")
            data = loader.construct_document(node)
            if data is not None:
                documents.append(data)
    except yaml.YAMLError as exc:
        raise RenderError(f"{where}: invalid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise RenderError(f"{where}: nesting too deep") from None
    finally:
        loader.dispose()
    return documents


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "error"
        if mark is not None:
            return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
        return problem
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_json_document(data: bytes, *, where: str, settings: RenderSettings = DEFAULT_SETTINGS) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RenderError(f"{where}: invalid JSON: {exc}") from None
    _check_depth(value, settings=settings, where=where)
    return value


def _check_depth(value: Any, *, settings: RenderSettings, where: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > settings.max_depth:
            raise RenderError(f"{where}: nesting deeper than {settings.max_depth} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
