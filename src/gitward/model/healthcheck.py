"""The ``HealthCheck`` object: declarative health rules for one kind, in CEL.

A HealthCheck names a group and kind and lists rules, tried in order; the first whose matchers all
hold decides the object's health (Healthy, Progressing, Degraded or Suspended) and its message::

    apiVersion: gitward.dev/v1alpha1
    kind: HealthCheck
    metadata: {name: widgets}
    spec:
      group: example.com
      kind: Widget
      rules:
        - health: Degraded
          conditions: [{type: Ready, status: "False", reason: Failed}]
          message: "widget failed: {{ conditions.Ready.message }}"
        - health: Progressing
          when: "status.observedGeneration < metadata.generation"
        - health: Healthy
          when: "has(status.phase) && status.phase == 'Running'"
          message: "{{ status.readyReplicas }} replicas ready"

Expressions are CEL (the Common Expression Language, as Kubernetes uses it in validation rules),
through ``common-expression-language``: no loops, no I/O, no access to anything but the variables
given (``object``, ``metadata``, ``spec``, ``status``, and ``conditions``, the object's conditions
by type). Every expression, ``when`` and each ``{{ }}`` of a message, is compiled here, when the
config is loaded: one that does not compile, or that names a variable that does not exist, refuses
the HealthCheck with the expression named. Evaluating the rules against a live object is
``gitward.health``'s (``health/declared.py``).

Deliberately not here: evaluation, precedence against plugins and built-in checks (``health/``).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field, field_validator, model_validator

from gitward.model.common import SpecModel, TopLevelObject

if TYPE_CHECKING:
    import cel

#: The variables an expression may read (``health/declared.py`` binds them).
VARIABLES: Final = ("object", "metadata", "spec", "status", "conditions")
#: The health a rule may decide; Missing and Unknown are gitward's own verdicts, never a rule's.
RuleHealth = Literal["Healthy", "Progressing", "Degraded", "Suspended"]

_PLACEHOLDER: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_MACRO_VARIABLE: Final = r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*{name}\s*,"
#: Expressions are short; a cap keeps a config from holding a megabyte of CEL.
MAX_EXPRESSION: Final = 4096


class ExpressionError(ValueError):
    """A CEL expression that does not compile or names an unknown variable; the message says which."""


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> cel.Program:
    """The compiled program of ``source``; raises ``ExpressionError`` naming the expression.

    Cached: the loader and the evaluator compile the same strings, and a reload the same again.
    """
    if not source.strip():
        raise ExpressionError("expression is empty")
    if len(source) > MAX_EXPRESSION:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION} characters")
    import cel  # only a config with HealthChecks loads CEL (its package also loads a REPL's libraries)

    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ExpressionError(f"expression {source!r} does not compile: {_first_line(exc)}") from exc
    unknown = [name for name in program.variables() if name not in VARIABLES and not _bound(source, name)]
    if unknown:
        raise ExpressionError(
            f"expression {source!r} reads {', '.join(unknown)}, which is not defined "
            f"(the variables are {', '.join(VARIABLES)})"
        )
    return program


def _bound(source: str, name: str) -> bool:
    """Whether ``name`` is the variable of a macro (``list.exists(c, ...)``), not a free variable."""
    return re.search(_MACRO_VARIABLE.format(name=re.escape(name)), source) is not None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def template_parts(template: str) -> tuple[tuple[bool, str], ...]:
    """A message template as ``(is_expression, text)`` pieces: ``"{{ status.n }} ready"`` is
    ``((True, "status.n"), (False, " ready"))``. Raises ``ExpressionError`` for a ``{{`` left open."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append((False, template[position : match.start()]))
        parts.append((True, match.group(1).strip()))
        position = match.end()
    rest = template[position:]
    if "{{" in rest:
        raise ExpressionError("message has a '{{' without its closing '}}'")
    if rest:
        parts.append((False, rest))
    return tuple(parts)


class ConditionMatch(SpecModel):
    """A condition the object must carry: its type, with this status (and reason, when given)."""

    type: str = Field(min_length=1)
    status: Literal["True", "False", "Unknown"] = "True"
    reason: str | None = None


class HealthRule(SpecModel):
    """One rule: when every matcher holds (no matcher: always), the object has ``health``."""

    health: RuleHealth
    conditions: tuple[ConditionMatch, ...] = ()
    when: str | None = None
    message: str = ""

    @field_validator("when")
    @classmethod
    def _when_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_expression(value)
        return value

    @field_validator("message")
    @classmethod
    def _message_compiles(cls, value: str) -> str:
        for is_expression, text in template_parts(value):
            if is_expression:
                compile_expression(text)
        return value


class HealthCheckSpec(SpecModel):
    group: str = ""  # "" is the core group (Pod, Service...)
    kind: str = Field(min_length=1)
    rules: tuple[HealthRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _rule_after_catch_all(self) -> HealthCheckSpec:
        """A rule with no matcher always matches: any rule after it could never decide."""
        for index, rule in enumerate(self.rules[:-1]):
            if not rule.conditions and rule.when is None:
                raise ValueError(
                    f"rules[{index}] has neither conditions nor when, so it always matches and the "
                    f"{len(self.rules) - index - 1} rule(s) after it never decide; make it the last"
                )
        return self


class HealthCheck(TopLevelObject):
    kind: Literal["HealthCheck"] = "HealthCheck"
    spec: HealthCheckSpec

    @property
    def group_kind(self) -> tuple[str, str]:
        return (self.spec.group, self.spec.kind)
