"""Identity of a Kubernetes object, and the inventory id format.

A ``ResourceKey`` names an object independently of its API version, so the same object rendered as
``apps/v1`` today and read back later compares equal. The inventory id (``namespace_name_group_kind``,
the format Flux users know) is what gitward stores per app to know what it owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class ResourceKey:
    """Group, kind, namespace and name: the identity of one object (namespace "" for cluster scope)."""

    group: str
    kind: str
    namespace: str
    name: str

    @property
    def id(self) -> str:
        """Inventory id: ``namespace_name_group_kind``; names cannot contain ``_`` so it splits back."""
        return f"{self.namespace}_{self.name}_{self.group}_{self.kind}"

    @classmethod
    def from_id(cls, value: str) -> ResourceKey:
        parts = value.split("_")
        if len(parts) != 4:
            raise ValueError(f"not an inventory id: {value!r}")
        namespace, name, group, kind = parts
        return cls(group=group, kind=kind, namespace=namespace, name=name)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ResourceKey:
        """Key of a manifest or live object (``apiVersion`` group part, kind, metadata)."""
        meta = obj.get("metadata") or {}
        return cls(
            group=group_of(str(obj.get("apiVersion", ""))),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
        )

    def with_namespace(self, namespace: str) -> ResourceKey:
        return ResourceKey(self.group, self.kind, namespace, self.name)

    def __str__(self) -> str:
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk}/{self.namespace}/{self.name}" if self.namespace else f"{gk}/{self.name}"


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def version_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[-1]


@dataclass(frozen=True, order=True)
class InventoryEntry:
    """One owned object: its key and the API version it was applied with."""

    key: ResourceKey
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.key.group}/{self.version}" if self.key.group else self.version

    def to_dict(self) -> dict[str, str]:
        return {"id": self.key.id, "v": self.version}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> InventoryEntry:
        return cls(ResourceKey.from_id(data["id"]), data["v"])

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> InventoryEntry:
        return cls(ResourceKey.of(obj), version_of(str(obj.get("apiVersion", ""))))
