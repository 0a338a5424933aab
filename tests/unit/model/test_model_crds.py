"""CRDs made from the models: every loader kind covered; JSON schema -> structural schema rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from gitward.model import Application, ConversionError
from gitward.model import crds as crds_module
from gitward.model.common import DURATION_PATTERN, Duration, SpecModel, TopLevelObject
from gitward.model.crds import STATUS_PATHS, SchemaError, crds, object_schema, structural_schema
from gitward.model.loader import load_object


def _nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            if key in ("default", "enum", "x-kubernetes-validations", "required"):
                continue
            if key == "properties":
                for name, child in value.items():
                    yield from _nodes(child, f"{path}.{name}")
            else:
                yield from _nodes(value, f"{path}/{key}")


def _spec_schema(model: type[BaseModel]) -> dict[str, Any]:
    return object_schema(model)["properties"]["spec"]  # type: ignore[no-any-return]


def test_every_kind_the_loader_reads_has_a_crd() -> None:
    with pytest.raises(ConversionError) as refused:
        load_object({"apiVersion": "gitward.dev/v1alpha1", "kind": "NoSuchKind", "metadata": {"name": "x"}})
    known = str(refused.value).partition("(known: ")[2].rstrip(")").split(", ")
    by_kind = {c["spec"]["names"]["kind"]: c for c in crds()}
    assert sorted(by_kind) == sorted(known) == sorted(crds_module.models())
    for crd in by_kind.values():
        names = crd["spec"]["names"]
        assert crd["metadata"]["name"] == f"{names['plural']}.gitward.dev"
        assert crd["spec"]["group"] == "gitward.dev"
        assert names["categories"] == ["gitward"]
        assert names["shortNames"][0].startswith("gw")
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1alpha1"
        assert version["served"]
        assert version["storage"]
        assert version["subresources"] == {"status": {}}
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    short = [s for c in crds() for s in c["spec"]["names"]["shortNames"]]
    assert len(short) == len(set(short))
    assert {"gwapp", "gwproj", "gwcluster", "gwrepo", "gwrcv"} <= set(short)


def test_application_columns_read_the_status_paths() -> None:
    (app,) = [c for c in crds() if c["spec"]["names"]["kind"] == "Application"]
    columns = app["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in columns] == ["Sync", "Health", "Revision", "Message", "Age"]
    assert {c["name"]: c["jsonPath"] for c in columns[:4]} == dict(STATUS_PATHS)
    assert columns[4]["jsonPath"] == ".metadata.creationTimestamp"


def test_generated_schemas_are_structural() -> None:
    """No references, junctors, closed-object markers or untyped nodes that are not free-form."""
    for crd in crds():
        root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for path, node in _nodes(root):
            assert not {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "const", "title"} & node.keys(), (
                path
            )
            assert node.get("additionalProperties") is not False, path
            if not (
                node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
            ):
                assert node.get("type") in ("object", "array", "string", "integer", "number", "boolean"), path
            if "properties" in node or "additionalProperties" in node:
                assert node["type"] == "object", path
            assert node.get("default", 0) is not None, path


def test_metadata_restricts_the_name_only() -> None:
    metadata = object_schema(Application)["properties"]["metadata"]
    assert set(metadata["properties"]) == {"name"}
    assert metadata["properties"]["name"]["maxLength"] == 253


class _Inner(SpecModel):
    """Docstrings are not descriptions."""

    size: int = Field(default=3, gt=0, le=10)
    mode: Literal["fast", "slow"] = "fast"


class _Spec(SpecModel):
    inner: _Inner = Field(default_factory=_Inner)
    maybe: _Inner | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)
    anything: Any = None
    every: Duration = 90.0
    names: tuple[Annotated[str, Field(min_length=1)], ...] = Field(default=(), min_length=0, max_length=4)
    required_name: str


class _Thing(TopLevelObject):
    kind: Literal["Thing"] = "Thing"
    spec: _Spec


def test_references_inlined_and_factory_defaults_written() -> None:
    spec = _spec_schema(_Thing)
    inner = spec["properties"]["inner"]
    assert inner["type"] == "object"
    assert inner["default"] == {"size": 3, "mode": "fast"}
    assert inner["properties"]["size"] == {
        "type": "integer",
        "exclusiveMinimum": True,
        "minimum": 0,
        "maximum": 10,
        "default": 3,
    }
    assert inner["properties"]["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert "description" not in inner
    assert spec["required"] == ["requiredName"]


def test_optional_is_nullable_without_a_null_default() -> None:
    maybe = _spec_schema(_Thing)["properties"]["maybe"]
    assert maybe["nullable"] is True
    assert maybe["type"] == "object"
    assert "default" not in maybe


def test_maps_and_free_form_fields() -> None:
    props = _spec_schema(_Thing)["properties"]
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "string"}, "default": {}}
    assert props["values"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "default": {}}
    assert props["anything"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert props["names"]["items"] == {"type": "string", "minLength": 1}
    assert props["names"]["maxItems"] == 4


def test_a_duration_is_int_or_string_with_the_parser_pattern() -> None:
    every = _spec_schema(_Thing)["properties"]["every"]
    assert every == {"x-kubernetes-int-or-string": True, "pattern": DURATION_PATTERN, "default": "1m30s"}


class _Hook(SpecModel):
    kind: Literal["hook"]
    url: str
    secret: str | None = None


class _Mail(SpecModel):
    kind: Literal["mail"]
    to: str
    url: str | None = None


class _Union(SpecModel):
    targets: tuple[Annotated[_Hook | _Mail, Field(discriminator="kind")], ...]


def test_a_tagged_union_is_one_object_with_a_rule_per_difference() -> None:
    node = structural_schema(_Union.model_json_schema(), _Union.model_json_schema()["$defs"], path="spec")
    item = node["properties"]["targets"]["items"]
    assert item["properties"]["kind"] == {"type": "string", "enum": ["hook", "mail"]}
    assert item["required"] == ["kind"]
    assert set(item["properties"]) == {"kind", "url", "secret", "to"}
    assert "nullable" not in item["properties"]["url"]  # optional in one variant, required in the other
    rules = {r["message"]: r["rule"] for r in item["x-kubernetes-validations"]}
    assert rules == {
        "url is required when kind is hook": "self.kind != 'hook' || has(self.url)",
        "to is not allowed when kind is hook": "self.kind != 'hook' || !has(self.to)",
        "to is required when kind is mail": "self.kind != 'mail' || has(self.to)",
        "secret is not allowed when kind is mail": "self.kind != 'mail' || !has(self.secret)",
    }


class _Unexpressible(SpecModel):
    either: int | list[int]


class _Mixed(BaseModel):
    model_config = ConfigDict(extra="allow")
    known: int = 0


@pytest.mark.parametrize("model", [_Unexpressible, _Mixed])
def test_a_shape_without_a_structural_form_is_refused(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    with pytest.raises(SchemaError):
        structural_schema(schema, schema.get("$defs", {}), path="spec")
