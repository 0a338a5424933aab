"""Kubernetes-style conditions (Ready / Reconciling / Stalled) that explain an app's state to humans."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace


class ConditionType(enum.StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    # Argo CD's warning: objects no app manages sit in the app's namespaces (``reconcile/orphans.py``)
    ORPHANED_RESOURCES = "OrphanedResourceWarning"


@dataclass(frozen=True)
class Condition:
    type: ConditionType
    status: bool
    reason: str
    message: str = ""
    last_transition: float = 0.0

    def to_dict(self) -> dict[str, str | float]:
        return {
            "type": self.type.value,
            "status": "True" if self.status else "False",
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": self.last_transition,
        }


def set_condition(existing: Iterable[Condition], new: Condition) -> tuple[Condition, ...]:
    """Replace the condition of the same type, keeping its transition time when the status is unchanged."""
    out: list[Condition] = []
    for cond in existing:
        if cond.type is new.type:
            if cond.status == new.status:
                new = replace(new, last_transition=cond.last_transition)
            continue
        out.append(cond)
    out.append(new)
    return tuple(sorted(out, key=lambda c: c.type.value))
