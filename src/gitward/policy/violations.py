"""A broken rule as data, and the one error that refuses a whole sync.

Every object is checked before any is applied, so checks return all violations rather than raising
at the first; ``policy_error`` then turns the list into one ``PolicyError`` whose message lists them
in a fixed order, so the same input always gives the same message (no flip-flopping conditions).

Deliberately not here: the rules themselves (one module per concern).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitward.core.errors import PolicyError
from gitward.core.keys import ResourceKey
from gitward.core.redact import redact_text

#: Lines listed in an error message; the rest are counted, so a broken render cannot make a huge message.
MAX_LISTED = 50

RULE_SOURCE_REPO = "SourceRepo"
RULE_DESTINATION = "Destination"
RULE_NAMESPACE = "Namespace"
RULE_CLUSTER_KIND = "ClusterResource"
RULE_NAMESPACED_KIND = "NamespacedResource"
RULE_CHILD_PROJECT = "ChildProject"
RULE_DUPLICATE = "Duplicate"
RULE_TOO_MANY = "TooManyObjects"
RULE_TOO_LARGE = "ObjectTooLarge"


@dataclass(frozen=True)
class Violation:
    """``key`` is the offending object, or None when the rule is about the app as a whole."""

    key: ResourceKey | None
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key is not None else self.message


def _order(violation: Violation) -> tuple[int, ResourceKey, str, str]:
    # App-wide violations first, then objects in key order.
    key = violation.key or ResourceKey("", "", "", "")
    return (0 if violation.key is None else 1, key, violation.rule, violation.message)


def sorted_violations(violations: Iterable[Violation]) -> list[Violation]:
    """Deterministic order with exact repeats removed."""
    return sorted(set(violations), key=_order)


def policy_error(violations: Iterable[Violation], *, app: str = "") -> PolicyError:
    """One error listing every violation, one per line (at most ``MAX_LISTED``)."""
    ordered = sorted_violations(violations)
    who = f"application {app!r}" if app else "the application"
    noun = "violation" if len(ordered) == 1 else "violations"
    lines = [f"{len(ordered)} policy {noun} in {who}; nothing was applied:"]
    lines += [f"  - [{v.rule}] {v}" for v in ordered[:MAX_LISTED]]
    if len(ordered) > MAX_LISTED:
        lines.append(f"  ... and {len(ordered) - MAX_LISTED} more")
    error = PolicyError("\n".join(lines))
    error.violations = tuple(
        (v.rule, v.key.id if v.key is not None else "", redact_text(v.message)) for v in ordered
    )
    return error


def raise_for(violations: Iterable[Violation], *, app: str = "") -> None:
    """Raise ``policy_error`` when there is at least one violation."""
    listed = list(violations)
    if listed:
        raise policy_error(listed, app=app)
