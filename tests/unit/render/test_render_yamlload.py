"""The bounded YAML/JSON loader: Kubernetes YAML 1.1 semantics, alias bombs, depth, errors."""

from __future__ import annotations

import pytest

from gitward.core.errors import RenderError
from gitward.render.params import RenderSettings
from gitward.render.yamlload import load_json_document, load_yaml_documents


def load_one(text: str) -> object:
    documents = load_yaml_documents(text, where="f.yaml")
    assert len(documents) == 1
    return documents[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0644", 420),  # octal, as kubectl reads file modes
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("yes", True),
        ("on", True),
        ("off", False),
        ("No", False),
        ("~", None),
        ("1.5", 1.5),
        ("2024-01-01", "2024-01-01"),  # timestamps stay strings (go-yaml into interface{})
        ("1:20", "1:20"),  # no base-60 numbers
        ("=", "="),  # PyYAML's value tag would fail; Kubernetes reads a string
        ("'0644'", "0644"),
    ],
)
def test_scalars_follow_kubernetes_yaml_1_1(text: str, expected: object) -> None:
    assert load_one(f"v: {text}\n") == {"v": expected}


def test_non_string_keys_become_their_text() -> None:
    assert load_one("on: 1\n3: x\nnull: y\n") == {"true": 1, "3": "x", "null": "y"}


def test_multi_document_stream_drops_empty_documents() -> None:
    text = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n"
    assert load_yaml_documents(text, where="f.yaml") == [{"a": 1}, {"b": 2}]


def test_small_aliases_and_merge_keys_work() -> None:
    text = "base: &b {x: 1}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\n"
    assert load_one(text) == {"base": {"x": 1}, "use": {"x": 1}, "merged": {"x": 1, "y": 2}}


def billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        ref = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{','.join([ref] * 10)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast_with_a_clear_error() -> None:
    with pytest.raises(RenderError, match=r"bomb\.yaml.*expands to more than"):
        load_yaml_documents(billion_laughs(9), where="bomb.yaml")


def test_alias_count_is_capped() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 50) + "]\n"
    with pytest.raises(RenderError, match="more than 10 YAML aliases"):
        load_yaml_documents(text, where="f.yaml", settings=RenderSettings(max_aliases=10))
    assert len(load_one(text)["b"]) == 50  # type: ignore[index]


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(RenderError, match="recursive YAML alias"):
        load_yaml_documents("a: &a [*a]\n", where="f.yaml")


def test_nesting_depth_is_capped() -> None:
    deep = "v: " + "[" * 50 + "]" * 50 + "\n"
    with pytest.raises(RenderError, match="nesting deeper than 20"):
        load_yaml_documents(deep, where="f.yaml", settings=RenderSettings(max_depth=20))
    assert load_yaml_documents(deep, where="f.yaml")  # within the default


def test_very_deep_flow_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(RenderError, match=r"f\.yaml"):
        load_yaml_documents("[" * 100_000, where="f.yaml")


def test_invalid_yaml_names_file_and_line() -> None:
    with pytest.raises(RenderError, match=r"apps/x\.yaml: invalid YAML: .* line \d+, column \d+"):
        load_yaml_documents("a: 1\nb:\n  - [1\n", where="apps/x.yaml")


def test_json_is_parsed_and_depth_capped() -> None:
    assert load_json_document(b'{"a": [1, {"b": true}]}', where="f.json") == {"a": [1, {"b": True}]}
    with pytest.raises(RenderError, match=r"f\.json: invalid JSON"):
        load_json_document(b'{"a": ', where="f.json")
    with pytest.raises(RenderError, match="nesting deeper than 5"):
        load_json_document(b"[[[[[[[1]]]]]]]", where="f.json", settings=RenderSettings(max_depth=5))
