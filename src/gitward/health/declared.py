"""The user's HealthCheck rules (``model/healthcheck.py``) evaluated against a live object.

Rules are tried in order; the first whose matchers all hold decides. Matchers: ``conditions`` (each
named condition present with that status, and that reason when given) and ``when`` (a CEL
expression that must be ``true``). The variables: ``object`` (the whole object), ``metadata``,
``spec``, ``status`` (``{}`` when absent, so ``has(status.phase)`` works before the controller
wrote anything) and ``conditions`` (the conditions by type: ``conditions.Ready.status``).

A field that is not there yet makes a ``when`` false (a controller may not have written it); in a
message it shows as ``<unset>``. Any other failure of an expression (a type mismatch, a division by
zero, a result that is not a bool) makes the object Unknown with a message naming the HealthCheck,
the rule and the expression: a rule that cannot be evaluated must not pass the decision to a rule
the user meant to override.

Deliberately not here: compiling (done when the config is loaded, ``model/healthcheck.py``), and
the order against plugins and built-in checks (``assess``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from gitward.core.status import Health, HealthStatus
from gitward.health.common import conditions, spec, status
from gitward.health.decision import Decision, Source
from gitward.model.healthcheck import (
    ConditionMatch,
    HealthCheck,
    HealthRule,
    compile_expression,
    template_parts,
)

if TYPE_CHECKING:
    import cel

UNSET: Final = "<unset>"


class _EvaluationError(Exception):
    """An expression failed for a reason other than a missing field."""


def variables(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The CEL variables of one object (see the module doc)."""
    metadata = obj.get("metadata")
    return {
        "object": dict(obj),
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
        "spec": dict(spec(obj)),
        "status": dict(status(obj)),
        "conditions": {k: dict(v) for k, v in conditions(obj).items()},
    }


def evaluate(check: HealthCheck, obj: Mapping[str, Any]) -> Decision | None:
    """The decision of the first matching rule of ``check``, or None when no rule matches."""
    import cel  # imported with the first HealthCheck evaluated, as in ``model/healthcheck.py``

    context = cel.Context(variables=variables(obj))
    by_type = conditions(obj)
    for index, rule in enumerate(check.spec.rules, start=1):
        where = f"rule {index}"
        try:
            if not _matches(rule, context, by_type):
                continue
        except _EvaluationError as error:
            message = f"HealthCheck {check.name} {where}: when {rule.when!r}: {error}"
            return Decision(Health(HealthStatus.UNKNOWN, message), Source.HEALTHCHECK, check.name, where)
        health = Health(HealthStatus(rule.health), render_message(rule.message, context))
        return Decision(health, Source.HEALTHCHECK, check.name, where, rule.when or _describe(rule))
    return None


def _describe(rule: HealthRule) -> str:
    """How a rule without ``when`` matched, for ``explain``."""
    if not rule.conditions:
        return "(no matcher: always)"
    return " and ".join(_describe_condition(c) for c in rule.conditions)


def _describe_condition(match: ConditionMatch) -> str:
    reason = f" reason {match.reason}" if match.reason is not None else ""
    return f"condition {match.type}={match.status}{reason}"


def _matches(rule: HealthRule, context: cel.Context, by_type: Mapping[str, Mapping[str, Any]]) -> bool:
    for match in rule.conditions:
        found = by_type.get(match.type)
        if found is None or str(found.get("status")) != match.status:
            return False
        if match.reason is not None and str(found.get("reason") or "") != match.reason:
            return False
    if rule.when is None:
        return True
    result = _run(rule.when, context)
    if result is _MISSING:
        return False
    if not isinstance(result, bool):
        raise _EvaluationError(f"returned {type(result).__name__}, not a bool")
    return result


_MISSING: Final = object()


def _run(source: str, context: cel.Context) -> Any:
    """The value of one expression; ``_MISSING`` when it read a field that is not there."""
    try:
        return compile_expression(source).execute(context)
    except KeyError:
        return _MISSING
    except Exception as exc:  # the CEL runtime raises several types; every one is the rule's failure
        raise _EvaluationError(_short(exc)) from exc


def render_message(template: str, context: cel.Context) -> str:
    """The message with each ``{{ expression }}`` replaced by its value (``<unset>`` when it fails)."""
    out: list[str] = []
    for is_expression, text in template_parts(template):
        if not is_expression:
            out.append(text)
            continue
        try:
            value = _run(text, context)
        except _EvaluationError:
            value = _MISSING
        out.append(UNSET if value is _MISSING else _text(value))
    return "".join(out)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
