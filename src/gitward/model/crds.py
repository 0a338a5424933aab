"""CustomResourceDefinitions for every gitward kind, made from the same pydantic models as the file config.

Each kind the loader accepts (``model/loader.py``) becomes one CRD in ``gitward.dev``, version
``v1alpha1``, namespaced, with the ``status`` subresource, the category ``gitward`` and a short name
(``gwapp``, ``gwproj``, ...). Its ``spec`` schema is the model's JSON schema (pydantic) turned into a
Kubernetes *structural* schema by ``structural_schema``:

- ``$ref`` is inlined (the models have no recursion, so this ends);
- an ``anyOf`` of a type and ``null`` (``X | None``) becomes that type with ``nullable: true``;
- a string-or-number (a ``Duration``, written ``5m`` or as seconds) becomes
  ``x-kubernetes-int-or-string`` with the string's pattern: a non-whole number of seconds is refused,
  which the file config would take; write ``1.5s`` instead;
- a tagged union (``Notification`` targets) becomes one object with every variant's fields, the tag
  as an enum, and one CEL rule per variant refusing the fields that variant does not have and
  asking for the ones it needs, so the API server refuses exactly what the model would;
- ``additionalProperties: false`` is dropped (a structural schema prunes unknown fields; ``kubectl``
  refuses them with its default ``--validate=strict``), ``additionalProperties: true`` (free-form
  data such as Helm values) becomes ``x-kubernetes-preserve-unknown-fields``;
- ``const`` becomes a one-value ``enum``, draft 2020 ``exclusiveMinimum: N`` the OpenAPI v3 pair;
- defaults are kept (the API server fills them in, as the model would), except ``null`` and defaults
  of fields a union's variants do not share; titles and descriptions (written for developers) go.

A shape this module does not know how to express raises ``SchemaError`` instead of producing a schema
that accepts more than the model: accepted means acted on. Rules the schema cannot say (a repoURL's
form, cross-field checks) stay with the loader, which reports them when the object is read.

The status columns (Sync, Health, Revision, Message) read the paths in ``STATUS_PATHS``; the status
writer must write exactly those (docs/architecture.md, "Custom resources").

Deliberately not here: YAML, applying, and the install manifests (``gitward.install``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, get_args

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from gitward.core.durations import format_duration
from gitward.model.common import DURATION_PATTERN, GROUP, VERSION, ObjectMeta
from gitward.model.loader import GitwardObject

CATEGORY: Final = "gitward"
_DNS1123_SUBDOMAIN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

#: Where the status writer puts what ``kubectl get gwapp`` shows (JSONPath, as printer columns read it).
STATUS_PATHS: Final[Mapping[str, str]] = {
    "Sync": ".status.sync.status",
    "Health": ".status.health.status",
    "Revision": ".status.sync.revision",
    "Message": '.status.conditions[?(@.type=="Ready")].message',
}

# Keys of a pydantic JSON schema that carry no validation (or that are handled by their own step).
_DROPPED: Final = frozenset({"title", "description", "examples", "$defs", "discriminator"})
# Value validations kept as they are.
_KEPT: Final = frozenset(
    {"type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"}
    | {"x-kubernetes-validations"}  # a model's own CEL rules (e.g. one of two fields required)
)
_CEL_RESERVED: Final = frozenset(
    {
        *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function"),
        *("if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"),
    }
)
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _WithFactoryDefaults(GenerateJsonSchema):
    """Defaults made by a ``default_factory`` (``Field(default_factory=Retry)``) are written out too,
    so the API server fills in the same nested defaults the model would."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if "default" not in schema and factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return super().get_default_value(schema)


class SchemaError(ValueError):
    """A model shape that has no structural equivalent; the message names where."""


@dataclass(frozen=True)
class KindInfo:
    """How one kind is named in the cluster."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    columns: tuple[dict[str, Any], ...] = ()


_AGE: Final = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}

KINDS: Final[Mapping[str, KindInfo]] = {
    info.kind: info
    for info in (
        KindInfo(
            "Application",
            "applications",
            ("gwapp", "gwapps"),
            (
                *({"name": name, "type": "string", "jsonPath": path} for name, path in STATUS_PATHS.items()),
                _AGE,
            ),
        ),
        KindInfo("Project", "projects", ("gwproj",)),
        KindInfo("Cluster", "clusters", ("gwcluster",)),
        KindInfo(
            "Repository",
            "repositories",
            ("gwrepo",),
            ({"name": "URL", "type": "string", "jsonPath": ".spec.url"}, _AGE),
        ),
        KindInfo(
            "Receiver",
            "receivers",
            ("gwrcv",),
            ({"name": "Type", "type": "string", "jsonPath": ".spec.type"}, _AGE),
        ),
        KindInfo("Role", "roles", ("gwrole",)),
        KindInfo(
            "RoleBinding",
            "rolebindings",
            ("gwrb",),
            ({"name": "Role", "type": "string", "jsonPath": ".spec.role"}, _AGE),
        ),
        KindInfo("OIDCProvider", "oidcproviders", ("gwoidc",)),
        KindInfo("Notification", "notifications", ("gwnotif",)),
        KindInfo(
            "HealthCheck",
            "healthchecks",
            ("gwhealth",),
            (
                {"name": "Group", "type": "string", "jsonPath": ".spec.group"},
                {"name": "Kind", "type": "string", "jsonPath": ".spec.kind"},
                _AGE,
            ),
        ),
        KindInfo("ApplicationSet", "applicationsets", ("gwappset", "gwappsets")),
        KindInfo("Plugin", "plugins", ("gwplugin",)),
    )
}


def models() -> dict[str, type[BaseModel]]:
    """Every gitward kind the loader reads, by kind name."""
    found: dict[str, type[BaseModel]] = {}
    for model in get_args(GitwardObject):
        found[model.model_fields["kind"].default] = model
    return found


def crds() -> list[dict[str, Any]]:
    """One CRD per kind, in the loader's order."""
    out = []
    for kind, model in models().items():
        info = KINDS.get(kind)
        if info is None:
            raise SchemaError(f"kind {kind} has no name table entry in model/crds.py (plural, short names)")
        out.append(crd(model, info))
    return out


def crd(model: type[BaseModel], info: KindInfo) -> dict[str, Any]:
    name = f"{info.plural}.{GROUP}"
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": object_schema(model)},
        "subresources": {"status": {}},
    }
    if info.columns:
        version["additionalPrinterColumns"] = [dict(c) for c in info.columns]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "gitward"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.kind.lower(),
                "shortNames": list(info.short_names),
                "categories": [CATEGORY],
            },
            "versions": [version],
        },
    }


def object_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The whole object's schema: ``spec`` from the model, ``status`` free-form (gitward writes it)."""
    raw = model.model_json_schema(mode="validation", by_alias=True, schema_generator=_WithFactoryDefaults)
    defs = raw.get("$defs", {})
    spec_ref = raw["properties"]["spec"]
    spec = structural_schema(spec_ref, defs, path="spec")
    spec.pop("default", None)  # the spec's own defaults are its fields'; an absent spec stays absent
    _check_metadata_model()
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 253, "pattern": _DNS1123_SUBDOMAIN}},
            },
            "spec": spec,
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    if "spec" in raw.get("required", ()):
        schema["required"] = ["spec"]
    return schema


def _check_metadata_model() -> None:
    """metadata may restrict only ``name`` in a CRD; the model must not read more than the API
    server guarantees (a name, a namespace, labels, annotations, a generation)."""
    read = {f.alias or n for n, f in ObjectMeta.model_fields.items()}
    if not read <= {"name", "namespace", "labels", "annotations", "generation"}:
        raise SchemaError(
            f"ObjectMeta reads fields a custom resource's metadata does not have: {sorted(read)}"
        )


def structural_schema(node: Mapping[str, Any], defs: Mapping[str, Any], *, path: str) -> dict[str, Any]:
    """One pydantic JSON schema node as a Kubernetes structural schema node (see the module doc)."""
    node = _resolved(node, defs, path)
    if "anyOf" in node:
        return _any_of(node, defs, path)
    if "oneOf" in node:
        return _tagged_union(node, defs, path)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key in ("properties", "required", "additionalProperties", "items", "default"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        elif key in _KEPT:
            out[key] = copy.deepcopy(value)
        else:
            raise SchemaError(f"{path}: JSON schema keyword {key!r} has no structural equivalent here")
    if "const" in node and "type" not in out:
        out["type"] = _type_of(node["const"], path)
    kind = out.get("type")
    if kind is None:
        if node.keys() - _DROPPED - {"default"}:
            raise SchemaError(f"{path}: a schema without a type: {sorted(node)}")
        out = {"x-kubernetes-preserve-unknown-fields": True}  # ``Any``: free-form by the model's choice
    elif kind == "object":
        _object(node, defs, path, out)
    elif kind == "array":
        if "prefixItems" in node or "items" not in node:
            raise SchemaError(f"{path}: arrays must have one item schema")
        out["items"] = structural_schema(node["items"], defs, path=f"{path}[]")
    if "default" in node and node["default"] is not None:
        out["default"] = _default(node["default"], out, path)
    return _type_first(out)


def _type_first(schema: dict[str, Any]) -> dict[str, Any]:
    """Keys in a stable, readable order: the type first."""
    first = [k for k in ("type", "x-kubernetes-int-or-string") if k in schema]
    return {**{k: schema[k] for k in first}, **{k: v for k, v in schema.items() if k not in first}}


def _resolved(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """``{"$ref": X, "default": ...}`` -> X's schema with the siblings laid over it."""
    if "allOf" in node and len(node["allOf"]) == 1:
        node = {**{k: v for k, v in node.items() if k != "allOf"}, **node["allOf"][0]}
    ref = node.get("$ref")
    if ref is None:
        return node
    name = str(ref).removeprefix("#/$defs/")
    if name not in defs:
        raise SchemaError(f"{path}: reference {ref} is not defined")
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    return _resolved({**defs[name], **siblings}, defs, path)


def _object(node: Mapping[str, Any], defs: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    properties = node.get("properties", {})
    extra = node.get("additionalProperties", False if properties else None)
    if properties:
        out["properties"] = {
            name: structural_schema(child, defs, path=f"{path}.{name}") for name, child in properties.items()
        }
    if node.get("required"):
        out["required"] = list(node["required"])
    if extra is True or (extra is None and not properties):
        if properties:
            raise SchemaError(f"{path}: known fields and free-form extra fields at once")
        out["x-kubernetes-preserve-unknown-fields"] = True
    elif isinstance(extra, Mapping):
        if properties:
            raise SchemaError(f"{path}: known fields and a map of extra fields at once")
        out["additionalProperties"] = structural_schema(extra, defs, path=f"{path}.*")


def _any_of(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> dict[str, Any]:
    members = [_resolved(m, defs, path) for m in node["anyOf"]]
    nullable = any(m.get("type") == "null" for m in members)
    members = [m for m in members if m.get("type") != "null"]
    siblings = {k: v for k, v in node.items() if k != "anyOf"}
    if len(members) == 1:
        out = structural_schema({**members[0], **siblings}, defs, path=path)
    elif {m.get("type") for m in members} in ({"string", "number"}, {"string", "integer"}):
        out = _int_or_string(members, siblings, path)
    else:
        raise SchemaError(f"{path}: a union of {[m.get('type') for m in members]} has no structural form")
    if nullable:
        out["nullable"] = True
    return _type_first(out)


def _int_or_string(
    members: list[Mapping[str, Any]], siblings: Mapping[str, Any], path: str
) -> dict[str, Any]:
    """A string or a number: Kubernetes has int-or-string; string rules apply to strings only."""
    out: dict[str, Any] = {"x-kubernetes-int-or-string": True}
    for member in members:
        extra = set(member) - _DROPPED - {"type"}
        if member["type"] == "string":
            if extra - {"pattern", "minLength", "maxLength"}:
                raise SchemaError(f"{path}: string rules {sorted(extra)} of an int-or-string")
            out.update({k: member[k] for k in extra})
        elif extra:
            raise SchemaError(f"{path}: number rules {sorted(extra)} of an int-or-string")
    default = siblings.get("default")
    if default is not None:
        out["default"] = _default(default, out, path)
    return out


def _tagged_union(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A pydantic discriminated union: one object, the tag an enum, per-variant CEL rules."""
    tag = (node.get("discriminator") or {}).get("propertyName")
    if not tag:
        raise SchemaError(f"{path}: oneOf without a discriminator")
    variants: dict[str, dict[str, Any]] = {}
    for member in node["oneOf"]:
        schema = structural_schema(member, defs, path=path)
        value = schema.get("properties", {}).get(tag, {}).get("enum", [None])
        if schema.get("type") != "object" or len(value) != 1:
            raise SchemaError(f"{path}: a union variant without one {tag!r} value")
        variants[value[0]] = schema
    merged: dict[str, Any] = {}
    for schema in variants.values():
        for name, child in schema["properties"].items():
            if name == tag:
                continue
            if name not in merged:
                merged[name] = copy.deepcopy(child)
                continue
            if _bare(merged[name]) != _bare(child):
                raise SchemaError(f"{path}.{name}: variants of the union give it different schemas")
            if merged[name].get("default") != child.get("default"):
                merged[name].pop("default", None)
            if merged[name].get("nullable") != child.get("nullable"):
                # Optional in one variant, required in another: a null is then pruned by the API
                # server, which reads as absent -- the optional variant's default (None) -- as the
                # model would, and as missing for the variant whose rule below asks for the field.
                merged[name].pop("nullable", None)
    everywhere = set.intersection(*(set(s["properties"]) for s in variants.values()))
    for name, child in merged.items():
        if name not in everywhere:
            child.pop("default", None)
    required_everywhere = set.intersection(*(set(s.get("required", ())) for s in variants.values()))
    tag_schema = {"type": "string", "enum": sorted(variants)}
    rules = []
    for value, schema in sorted(variants.items()):
        own = set(schema["properties"])
        for name in sorted(set(schema.get("required", ())) - required_everywhere):
            rules.append(
                {
                    "rule": f"self.{_cel(tag)} != {_quoted(value)} || has(self.{_cel(name)})",
                    "message": f"{name} is required when {tag} is {value}",
                }
            )
        for name in sorted(set(merged) - own):
            rules.append(
                {
                    "rule": f"self.{_cel(tag)} != {_quoted(value)} || !has(self.{_cel(name)})",
                    "message": f"{name} is not allowed when {tag} is {value}",
                }
            )
    out: dict[str, Any] = {
        "type": "object",
        "properties": {tag: tag_schema, **merged},
        "required": [tag, *sorted(required_everywhere - {tag})],
    }
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


def _bare(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("default", "nullable")}


def _cel(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise SchemaError(f"field {name!r} cannot be named in a CEL rule")
    return f"__{name}__" if name in _CEL_RESERVED else name


def _quoted(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise SchemaError(f"tag value {value!r} cannot be written in a CEL rule")
    return f"'{value}'"


def _type_of(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    raise SchemaError(f"{path}: constant {value!r} of no scalar type")


def _default(value: Any, schema: Mapping[str, Any], path: str) -> Any:
    """The default as the structural node takes it: a Duration as its string, a whole float for an
    int-or-string as an int."""
    if schema.get("x-kubernetes-int-or-string") and isinstance(value, float):
        if schema.get("pattern") == DURATION_PATTERN:
            return format_duration(value)  # as users write it, and as nested defaults show it
        if not value.is_integer():
            raise SchemaError(f"{path}: default {value} is not a whole number of seconds")
        return int(value)
    return _without_nulls(value)


def _without_nulls(value: Any) -> Any:
    """A ``None`` inside a default is the field's own default: left out, as a user would."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
