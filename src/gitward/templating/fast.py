"""Argo CD's default template syntax: ``{{name}}`` replaced by the parameter ``name``.

As Argo CD's fasttemplate mode: the text between ``{{`` and the next ``}}`` is trimmed and looked up
among the parameters, whose values are strings; a string with no ``{{...}}`` on one line is left as
it is. One difference, on purpose: a tag that names a parameter (``{{pth}}``, ``{{path[3]}}``) that
the generators did not give is an error naming it, where Argo CD leaves ``{{pth}}`` in the
Application. A tag that cannot be a parameter name (``{{ .Values.x }}``, ``{{ include "a" . }}``:
Helm or Go syntax meant for a later stage) is left as written, as Argo CD leaves it.

``lenient`` (matrix generators reading an earlier generator's parameters) leaves unknown names as
written too: the later generator may define them itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitward.templating.errors import TemplateError

_TEMPLATED = re.compile(r"\{\{.*\}\}")  # '.' stops at a newline, as Argo CD's check does
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_][^\s|()\"'`${}]*")
MAX_SHOWN = 8


def render_fast(text: str, params: Mapping[str, Any], *, lenient: bool = False) -> str:
    if not _TEMPLATED.search(text):
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        end = text.find("}}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:start])
        tag = text[start + 2 : end]
        out.append(_replacement(tag, params, lenient=lenient))
        pos = end + 2


def _replacement(tag: str, params: Mapping[str, Any], *, lenient: bool) -> str:
    name = tag.strip()
    value = params.get(name)
    if name and isinstance(value, str):
        return value
    if not lenient and _PARAMETER_NAME.fullmatch(name):
        if name in params:
            raise TemplateError(f"parameter {{{{{name}}}}} is not a string")
        raise TemplateError(f"parameter {{{{{name}}}}} is not given by the generators{_known(params)}")
    return "{{" + tag + "}}"


def _known(params: Mapping[str, Any]) -> str:
    names = sorted(params)
    if not names:
        return " (they give none)"
    shown = ", ".join(names[:MAX_SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > MAX_SHOWN else "")
    return f" (they give: {shown})"
