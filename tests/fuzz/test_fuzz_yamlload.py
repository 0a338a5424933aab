"""Fuzzing the bounded YAML/JSON loader (``render/yamlload.py``; docs/reliability.md bad input 6).

Properties: any text or bytes either load or fail with ``RenderError`` (never a RecursionError,
MemoryError or hang); what is accepted never exceeds the depth, alias and expansion caps, and is a
finite tree; alias-bomb documents are accepted exactly when their expansion fits the caps; what is
accepted loads again to the same data once dumped; JSON is accepted exactly when it is JSON and fits
the depth cap.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
import yaml
from fuzzkit import outcome
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitward.core.errors import RenderError
from gitward.render.params import RenderSettings
from gitward.render.yamlload import load_json_document, load_yaml_documents

pytestmark = pytest.mark.fuzz

SMALL = RenderSettings(max_depth=12, max_aliases=40, max_expanded_nodes=400)

# Pieces of YAML syntax, so that random sequences of them reach anchors, aliases, merges, tags,
# flow and block nesting, documents and directives far more often than random characters do.
TOKENS = [
    "a", "b", "x: ", "- ", "? ", ": ", "[", "]", "{", "}", ", ", "\n", "\n  ", "\n    ", "---\n", "...\n",
    "&a ", "&b ", "*a", "*b", "<<: ", "<<: *a", "!!str ", "!!int ", "!!float ", "!!binary ", "!!set ",
    "!!map ", "!!seq ", "!!omap ", "!!timestamp ", "!!python/name:os.system ", "!foo ", "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n", "'", '"', "\\", "#", "|", ">", "0644", "0x1F", "1e3", ".inf", ".nan", "~",
    "yes", "on", "2001-01-01", "1:20", "=", "\t", "\x00", "\ufeff", "\u2028", "é", "\U0001f600",
]  # fmt: skip
yaml_ish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


def load_or_refuse(text: str | bytes, settings: RenderSettings = SMALL) -> list[Any] | None:
    """The documents, or None when refused with ``RenderError``; anything else fails the test."""
    documents, error = outcome(
        lambda: load_yaml_documents(text, where="fuzz.yaml", settings=settings), RenderError
    )
    assert error is None or str(error).startswith("fuzz.yaml"), str(error)
    return documents


def measure(value: Any, depth: int = 1, path: tuple[int, ...] = ()) -> tuple[int, int]:
    """(depth, node count) of constructed data counted as the loader's caps count YAML nodes:
    every container, key and scalar is a node, aliased parts counted each time they are used.
    Fails on a cycle, which a recursive alias would have made."""
    if isinstance(value, dict | list | set | tuple):
        assert id(value) not in path, "cycle in accepted data"
        inner = (*path, id(value))
        children: list[Any] = []
        if isinstance(value, dict):
            for key, item in value.items():
                children += [key, item]
        else:
            children = list(value)
        results = [measure(child, depth + 1, inner) for child in children]
        return max([depth, *(d for d, _ in results)]), 1 + sum(n for _, n in results)
    return depth, 1


@given(st.text(max_size=300))
@example("a: &a [*a]")  # a recursive alias
@example("[" * 1100)  # deeper than libyaml's own limit
@example("- " * 300 + "x")
def test_any_text_loads_or_is_refused_with_a_render_error(text: str) -> None:
    load_or_refuse(text)


@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_refused_with_a_render_error(data: bytes) -> None:
    load_or_refuse(data)


@given(yaml_ish)
# PyYAML's typed constructors raised IndexError/ValueError/KeyError/AttributeError for these
@example("!!int ")
@example("!!int 0x1Fx: ")
@example("!!float a")
@example("!!bool maybe")
@example("!!timestamp ")
@example("a: " + "1" * 5000)  # more digits than int() converts
@example("&a [*a, *a]")
@example("a: &a {b: *a}")
@example("&a [&b [*a]]")
def test_accepted_yaml_respects_every_cap_and_is_a_finite_tree(text: str) -> None:
    documents = load_or_refuse(text)
    for document in documents or []:
        depth, nodes = measure(document)
        assert depth <= SMALL.max_depth
        assert nodes <= SMALL.max_expanded_nodes


def laughs(levels: int, fanout: int) -> str:
    """A billion-laughs document: each level a list of ``fanout`` aliases of the level below."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


@given(
    levels=st.integers(1, 12),
    fanout=st.integers(1, 12),
    max_aliases=st.integers(0, 200),
    max_nodes=st.integers(1, 5000),
    max_depth=st.integers(1, 16),
)
@example(levels=9, fanout=10, max_aliases=10_000, max_nodes=2_000_000, max_depth=200)  # the default caps
def test_alias_bombs_are_accepted_exactly_when_they_fit_the_caps(
    levels: int, fanout: int, max_aliases: int, max_nodes: int, max_depth: int
) -> None:
    settings = RenderSettings(max_depth=max_depth, max_aliases=max_aliases, max_expanded_nodes=max_nodes)
    size = 1 + fanout  # level 0: the list and its scalars
    total = 1 + 1 + size  # the root mapping, then each level's key and value
    for _ in range(1, levels):
        size = 1 + fanout * size
        total += 1 + size
    aliases = fanout * (levels - 1)  # every use of a level but the first is an alias
    depth = levels + 2  # root, then one list per level, then the scalars
    fits = total <= max_nodes and aliases <= max_aliases and depth <= max_depth
    documents = load_or_refuse(laughs(levels, fanout), settings)
    assert (documents is not None) == fits
    if documents is not None:
        assert measure(documents[0]) == (depth, total)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def plain(value: Any) -> bool:
    """Data JSON can carry unchanged (no bytes, sets, dates, pairs or NaN)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    if isinstance(value, float):
        return not math.isnan(value)
    return value is None or isinstance(value, bool | int | str)


@given(json_values)
@example({"k": "0644"})  # a string that looks like an octal int stays a string
@example({"on": "yes", "<<": "="})
@example({"a": "2001-01-01", "b": "1:20", "c": 1e300, "d": float("inf")})
@example({"\x85": None})  # NEL is a YAML 1.1 line break; the dumper must escape it
def test_dumped_data_loads_back_to_the_same_data(value: Any) -> None:
    # allow_unicode=False: PyYAML's emitter writes a raw NEL or line separator into quoted
    # scalars otherwise, which YAML 1.1 (and so this loader, rightly) folds into a space
    text = yaml.safe_dump(value)
    documents = load_yaml_documents(text, where="fuzz.yaml")
    assert documents == ([] if value is None else [value])


@given(yaml_ish | st.text(max_size=200))
def test_whatever_is_accepted_round_trips_through_a_dump(text: str) -> None:
    documents = load_or_refuse(text, RenderSettings())
    assume(documents and all(plain(d) for d in documents))
    assert documents is not None
    again = load_yaml_documents(yaml.safe_dump_all(documents), where="again.yaml")
    assert again == documents


# What orjson writes unchanged: 64-bit integers and finite floats.
json_only = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@given(json_only, st.integers(1, 8))
def test_json_is_accepted_exactly_when_it_fits_the_depth_cap(value: Any, max_depth: int) -> None:
    settings = RenderSettings(max_depth=max_depth)
    data = orjson.dumps(value)
    loaded, error = outcome(
        lambda: load_json_document(data, where="fuzz.json", settings=settings), RenderError
    )
    if error is not None:
        assert "nesting deeper" in str(error)
        assert json_depth(value) > max_depth
    else:
        assert loaded == value
        assert json_depth(value) <= max_depth


def json_depth(value: Any) -> int:
    """Nesting as ``load_json_document`` counts it: values of containers one level down."""
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 1


@given(st.binary(max_size=200))
@example(b"[" * 2000 + b"]" * 2000)
@example(b"\xff\xfe")
def test_any_bytes_as_json_load_or_are_refused_with_a_render_error(data: bytes) -> None:
    _, error = outcome(lambda: load_json_document(data, where="fuzz.json", settings=SMALL), RenderError)
    assert error is None or str(error).startswith("fuzz.json")


def test_the_default_caps_stop_a_real_bomb() -> None:
    """The budgeted search above uses small caps; the defaults must stop the classic bomb too."""
    assert load_or_refuse(laughs(10, 10), RenderSettings()) is None
