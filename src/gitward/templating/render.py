"""``Renderer``: one ApplicationSet's template language, applied to strings and to whole documents.

Argo CD's two syntaxes: the default ``{{param}}`` (``fast``) and, with ``goTemplate: true``, the Go
template subset (``goparse``/``goexec``). Go templates are parsed once per distinct text and
kept, so the same template over 1,000 parameter sets parses once. ``goTemplateOptions``:
``missingkey=error`` makes a missing map entry an error; ``missingkey=default`` and
``missingkey=invalid`` are Go's default (a missing entry is nil, and printing nil is refused:
``goexec``); ``missingkey=zero`` and any other option are refused.

``render_tree`` renders every string of a document, keys included (a label key may be templated,
as in Argo CD); numbers, booleans and null are left as they are.

Deliberately not here: where parameters come from (``gitward.appset``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitward.templating.errors import TemplateError
from gitward.templating.fast import render_fast
from gitward.templating.goexec import Execution, check_functions
from gitward.templating.goparse import Node, parse

MISSINGKEY_OPTIONS = ("missingkey=error", "missingkey=default", "missingkey=invalid")
_PARSED_LIMIT = 4096


def check_options(options: Iterable[str]) -> tuple[str, ...]:
    """The Go template options gitward runs; anything else is refused by name."""
    out = tuple(options)
    for option in out:
        if option not in MISSINGKEY_OPTIONS:
            raise TemplateError(
                f"goTemplateOptions {option!r} is not supported (supported: {', '.join(MISSINGKEY_OPTIONS)})"
            )
    return out


def parse_checked(text: str) -> tuple[Node, ...]:
    """Parse a Go template and refuse functions gitward does not provide."""
    nodes = parse(text)
    check_functions(nodes)
    return nodes


class Renderer:
    """Renders strings and documents in one syntax with one set of options."""

    def __init__(self, *, go: bool, options: Sequence[str] = ()) -> None:
        self.go = go
        options = check_options(options)
        self._missing_is_error = bool(options) and options[-1] == "missingkey=error"
        self._parsed: dict[str, tuple[Node, ...]] = {}

    def check(self, text: str) -> None:
        """Refuse a template that does not parse (Go syntax only: the default syntax always does)."""
        if self.go and "{{" in text:
            self._nodes(text)

    def render(self, text: str, params: Mapping[str, Any], *, lenient: bool = False) -> str:
        if "{{" not in text:
            return text
        if not self.go:
            return render_fast(text, params, lenient=lenient)
        nodes = self._nodes(text)
        return Execution(params, missing_is_error=self._missing_is_error).run(nodes)

    def render_tree(self, value: Any, params: Mapping[str, Any], *, lenient: bool = False) -> Any:
        if isinstance(value, str):
            return self.render(value, params, lenient=lenient)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                out[self.render(str(key), params, lenient=lenient)] = self.render_tree(
                    item, params, lenient=lenient
                )
            return out
        if isinstance(value, list | tuple):
            return [self.render_tree(item, params, lenient=lenient) for item in value]
        return value

    def strings(self, value: Any) -> Iterable[str]:
        """Every string of a document, keys included, as ``render_tree`` renders them."""
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                yield str(key)
                yield from self.strings(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from self.strings(item)

    def _nodes(self, text: str) -> tuple[Node, ...]:
        nodes = self._parsed.get(text)
        if nodes is None:
            nodes = parse_checked(text)
            if len(self._parsed) >= _PARSED_LIMIT:
                self._parsed.clear()
            self._parsed[text] = nodes
        return nodes


__all__ = ["Renderer", "TemplateError", "check_options", "parse_checked"]
