"""What decided an object's health, and why: the answer of ``gitward health explain``.

Every assessment goes through the same order (docs/architecture.md, "Health"): the user's
HealthChecks, then plugins, then gitward's built-in check for the kind, then the generic rules. A
``Decision`` names the one that decided and keeps one line per source consulted before it (a
HealthCheck none of whose rules matched, a plugin that had no opinion), so a person can see why a
rule they expected did not apply.

Deliberately not here: the rules themselves (``declared``, ``plugins``, the per-kind modules).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gitward.core.status import Health


class Source(enum.StrEnum):
    """Who decided, in the order they are asked."""

    HEALTHCHECK = "HealthCheck"
    PLUGIN = "plugin"
    BUILTIN = "built-in"
    GENERIC = "generic"
    MISSING = "missing"  # the object does not exist: nothing to ask


@dataclass(frozen=True)
class Decision:
    """The health, the source and rule that decided it, and the sources passed over before it.

    ``rule`` names the rule within its source (``rule 2`` of a HealthCheck, the plugin's entry
    point, the built-in check's name); ``expression`` is the CEL a HealthCheck rule matched with.
    """

    health: Health
    source: Source
    name: str
    rule: str = ""
    expression: str = ""
    passed: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """Who decided, in a few words (the pages and the status rows show it)."""
        if self.source is Source.HEALTHCHECK:
            return f"HealthCheck {self.name}, {self.rule}"
        if self.source is Source.PLUGIN:
            return f"plugin {self.name}"
        if self.source is Source.BUILTIN:
            return f"built-in {self.name}"
        if self.source is Source.GENERIC:
            return "generic rules"
        return ""

    def with_passed(self, passed: list[str]) -> Decision:
        return Decision(self.health, self.source, self.name, self.rule, self.expression, tuple(passed))

    def to_dict(self) -> dict[str, Any]:
        return {
            "health": {"status": self.health.status.value, "message": self.health.message},
            "decidedBy": {
                "source": self.source.value,
                "name": self.name,
                "rule": self.rule,
                "expression": self.expression,
            },
            "passed": list(self.passed),
        }
