"""Turning validation failures into messages a user can act on, without leaking values.

A message names the field path as the user wrote it (``spec.syncPolicy.interval``) and the problem.
It never repeats the input value pydantic saw, because that value may be a Helm value or a
substitution holding a secret; the checks in this package only name values that cannot be secret
(durations, names, options, paths).

Deliberately not here: deciding what happens to an invalid object (the loader keeps the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pydantic

from gitward.core.redact import redact_text

#: More problems than this in one object are summarised: the first few are enough to act on.
MAX_PROBLEMS = 10

_PLAIN_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
}


class ConversionError(ValueError):
    """An Argo CD or Flux object uses something gitward cannot run faithfully."""


@dataclass(frozen=True)
class ObjectError:
    """One document that could not be loaded: its kind and name when known, and why.

    ``document`` is the position of the document in the input, so a caller that concatenated several
    files can point at the right one. A caller must treat a named object with an error as "keep its
    last good state", never as "deleted".
    """

    kind: str
    name: str
    message: str
    document: int = -1

    def __post_init__(self) -> None:
        # Every load error passes here: mask any URL credential a check or a reader let through.
        object.__setattr__(self, "message", redact_text(self.message))

    def __str__(self) -> str:
        what = " ".join(part for part in (self.kind, self.name) if part) or f"document {self.document}"
        return f"{what}: {self.message}"


def field_path(loc: Sequence[int | str]) -> str:
    """``("spec", "dependsOn", 0, "name")`` -> ``spec.dependsOn[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def describe(error: pydantic.ValidationError) -> str:
    """All problems of one object, one per line, in the order pydantic found them."""
    lines = []
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    for problem in problems[:MAX_PROBLEMS]:
        message = _PLAIN_MESSAGES.get(problem["type"], problem["msg"])
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        path = field_path(problem["loc"])
        lines.append(f"{path}: {message}" if path else message)
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
    return "\n".join(lines)
