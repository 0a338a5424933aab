"""Size limits on what one app renders, so one runaway render cannot exhaust memory or etcd.

An object's size is the length of its canonical JSON (sorted keys, no spaces): the same object always
has the same size, whatever order its YAML was written in. The defaults sit just under what
Kubernetes itself accepts (etcd's default request limit is 1.5 MiB).

Deliberately not here: caps on files, archives and YAML nesting (render/ checks those before parsing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gitward.core.keys import ResourceKey
from gitward.policy.violations import RULE_TOO_LARGE, RULE_TOO_MANY, Violation

_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True)
class Limits:
    max_objects: int = 10_000
    max_object_bytes: int = 1_500_000

    def __post_init__(self) -> None:
        if self.max_objects < 1 or self.max_object_bytes < 1:
            raise ValueError("limits must be positive")


def canonical_size(obj: Mapping[str, Any]) -> int:
    """Bytes of the object as canonical JSON; values JSON has no type for (dates) count as strings."""
    return len(orjson.dumps(obj, default=str, option=_CANONICAL))


def check_limits(manifests: Iterable[Mapping[str, Any]], limits: Limits) -> list[Violation]:
    out: list[Violation] = []
    count = 0
    for obj in manifests:
        count += 1
        size = canonical_size(obj)
        if size > limits.max_object_bytes:
            out.append(
                Violation(
                    ResourceKey.of(obj),
                    RULE_TOO_LARGE,
                    f"object is {size} bytes as JSON; the limit is {limits.max_object_bytes}",
                )
            )
    if count > limits.max_objects:
        message = f"{count} objects rendered; the limit is {limits.max_objects} per application"
        out.insert(0, Violation(None, RULE_TOO_MANY, message))
    return out
