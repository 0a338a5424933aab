"""What a mutating step did, as data: every apply, prune or delete returns a ``ChangeSet``.

The ChangeSet feeds the inventory, the operation history, events, logs and the UI, so nothing has to
re-derive what happened from logs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gitward.core.keys import ResourceKey


class Action(enum.StrEnum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def is_write(self) -> bool:
        return self in (Action.CREATED, Action.CONFIGURED, Action.DELETED)

    @property
    def is_failure(self) -> bool:
        return self is Action.FAILED


@dataclass(frozen=True)
class Change:
    """One object and what happened to it; ``message`` explains skips and failures."""

    key: ResourceKey
    action: Action
    version: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.key.id,
            "group": self.key.group,
            "kind": self.key.kind,
            "namespace": self.key.namespace,
            "name": self.key.name,
            "version": self.version,
            "action": self.action.value,
            "message": self.message,
        }


@dataclass(frozen=True)
class ChangeSet:
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, changes: Iterable[Change]) -> ChangeSet:
        return cls(tuple(changes))

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.changes + other.changes)

    def with_action(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action is action]

    @property
    def failed(self) -> list[Change]:
        return self.with_action(Action.FAILED)

    @property
    def writes(self) -> int:
        return sum(1 for c in self.changes if c.action.is_write)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action.value] = counts.get(change.action.value, 0) + 1
        return counts
