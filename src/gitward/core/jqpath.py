"""JQ-style path expressions for ``ignoreDifferences.jqPathExpressions``: a small, safe subset.

Argo CD users write rules such as ``.spec.template.spec.initContainers[] | select(.name == "istio")``
or ``.webhooks[]?.clientConfig.caBundle``. gitward reads the forms such rules use and nothing more:

- field access: ``.a.b``, ``."a/b"``, ``.["a/b"]``, ``.a["b"]``; the identity ``.``;
- list elements: ``[]`` (every element, or every value of a map), ``[N]`` (one index, ``-1`` from the
  end), each optionally followed by ``?``;
- pipes ``|`` between such steps;
- ``select(COND)``, where COND is ``PATH == LITERAL`` or ``!=``, ``has("key")``,
  ``PATH | startswith("x")`` / ``endswith`` / ``contains`` (strings), combined with ``and``, ``or``,
  ``not`` and parentheses; a literal is a JSON string, number, ``true``, ``false`` or ``null``.

Anything else (functions, recursion ``..``, regular expressions, arithmetic, variables, slices, object
construction) is refused when the config is loaded, with a message naming the construct: a user's
expression can never run arbitrary code, loop, or take more than time linear in the object's size.
A maintained Python jq binding exists, but it runs the whole jq language (recursion, ``range``,
``until``) with no way to bound its time, on input written by every tenant of a project.

An expression denotes places in one object, as jq's ``path(...)`` does; ``paths`` returns them as
token tuples. Where jq would raise (iterating a string, indexing a list with a name) the step simply
matches nothing: a rule written for many objects must not fail on the ones it does not fit.

Deliberately not here: the rest of jq, and applying the places (``diff/ignore.py`` removes them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Token = str | int
Place = tuple[tuple[Token, ...], Any]  # a path and the value found there (None when absent)

_MAX_LENGTH = 1024
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|\.\.|[.\[\]|()?,])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": lambda value, part: part in value,
}


class JqPathError(ValueError):
    """An expression outside the supported subset; the message names the construct."""


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # string | number | ident | op
    text: str
    at: int


def _lex(text: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "op" and value == "..":
            raise JqPathError("recursive descent '..' is not supported in a jq path expression")
        out.append(_Lexeme(kind, value, match.start(kind)))
    return out


# -- the parsed form -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    optional: bool = False


@dataclass(frozen=True)
class _Index:
    index: int
    optional: bool = False


@dataclass(frozen=True)
class _Each:
    optional: bool = False


@dataclass(frozen=True)
class _Select:
    condition: _Cond


_Step = _Field | _Index | _Each | _Select


@dataclass(frozen=True)
class _Compare:
    path: tuple[_Step, ...]
    equal: bool
    literal: Any


@dataclass(frozen=True)
class _Has:
    key: str


@dataclass(frozen=True)
class _StringTest:
    path: tuple[_Step, ...]
    test: str
    argument: str


@dataclass(frozen=True)
class _Bool:
    op: str  # and | or | not
    parts: tuple[_Cond, ...]


_Cond = _Compare | _Has | _StringTest | _Bool


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _lex(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> _Lexeme | None:
        at = self.pos + offset
        return self.items[at] if at < len(self.items) else None

    def take(self, text: str | None = None, *, kind: str | None = None) -> _Lexeme:
        item = self.peek()
        if item is None:
            raise JqPathError(f"unexpected end of jq path expression (expected {text or kind})")
        if (text is not None and item.text != text) or (kind is not None and item.kind != kind):
            raise JqPathError(f"unexpected {item.text!r} at {item.at} (expected {text or kind})")
        self.pos += 1
        return item

    def accept(self, text: str) -> bool:
        item = self.peek()
        if item is not None and item.text == text and item.kind in ("op", "ident"):
            self.pos += 1
            return True
        return False

    # pipeline := term ('|' term)*
    def pipeline(self, *, in_condition: bool = False) -> tuple[_Step, ...]:
        steps: list[_Step] = list(self.term())
        while self.peek() is not None and self.peek_text() == "|":
            if in_condition and (self.peek_text(1) in _STRING_TESTS or self.peek_text(1) == "not"):
                break
            self.take("|")
            steps.extend(self.term())
        return tuple(steps)

    def peek_text(self, offset: int = 0) -> str:
        item = self.peek(offset)
        return item.text if item is not None else ""

    def term(self) -> list[_Step]:
        item = self.peek()
        if item is None:
            raise JqPathError("unexpected end of jq path expression (expected a path)")
        if item.kind == "ident" and item.text == "select":
            self.take("select")
            self.take("(")
            condition = self.condition()
            self.take(")")
            return [_Select(condition)]
        if item.kind == "ident":
            raise JqPathError(f"{item.text!r} is not supported in a jq path expression (at {item.at})")
        if item.text != ".":
            raise JqPathError(f"{item.text!r} is not supported in a jq path expression (at {item.at})")
        self.take(".")
        steps: list[_Step] = []
        nxt = self.peek()
        if nxt is not None and nxt.kind in ("ident", "string") and self._adjacent(item, nxt):
            steps.append(self.field_name())
        while True:
            nxt = self.peek()
            if nxt is None:
                break
            after = self.peek(1)
            if nxt.text == "." and after is not None and after.kind in ("ident", "string"):
                self.take(".")
                steps.append(self.field_name())
            elif nxt.text == "." and after is not None and after.text == "[":
                self.take(".")
                steps.append(self.bracket())
            elif nxt.text == "[":
                steps.append(self.bracket())
            elif nxt.text == "?" and steps:
                self.take("?")
                steps[-1] = _optional(steps[-1])
            else:
                break
        return steps

    def _adjacent(self, dot: _Lexeme, nxt: _Lexeme) -> bool:
        return nxt.at == dot.at + 1

    def field_name(self) -> _Field:
        item = self.take()
        if item.kind == "ident":
            return _Field(item.text)
        if item.kind == "string":
            return _Field(_string(item.text))
        raise JqPathError(f"unexpected {item.text!r} at {item.at} (expected a field name)")

    def bracket(self) -> _Step:
        self.take("[")
        item = self.peek()
        if item is not None and item.text == "]":
            self.take("]")
            return _Each()
        if item is not None and item.kind == "string":
            self.take()
            self.take("]")
            return _Field(_string(item.text))
        if item is not None and item.kind == "number" and re.fullmatch(r"-?\d+", item.text):
            self.take()
            self.take("]")
            return _Index(int(item.text))
        found = item.text if item is not None else "end"
        raise JqPathError(f'only [], [N] and ["key"] are supported in brackets, found {found!r}')

    # condition := conjunction ('or' conjunction)*
    def condition(self) -> _Cond:
        parts = [self.conjunction()]
        while self.accept("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _Bool("or", tuple(parts))

    def conjunction(self) -> _Cond:
        parts = [self.negation()]
        while self.accept("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else _Bool("and", tuple(parts))

    def negation(self) -> _Cond:
        cond = self.atom()
        while self.peek_text() == "|" and self.peek_text(1) == "not":
            self.take("|")
            self.take("not")
            cond = _Bool("not", (cond,))
        return cond

    def atom(self) -> _Cond:
        item = self.peek()
        if item is None:
            raise JqPathError("empty condition in select()")
        if item.text == "(":
            self.take("(")
            cond = self.condition()
            self.take(")")
            return cond
        if item.kind == "ident" and item.text == "has":
            self.take("has")
            self.take("(")
            key = self.take(kind="string")
            self.take(")")
            return _Has(_string(key.text))
        if item.kind == "ident" and item.text == "not":
            raise JqPathError("write a negation as 'COND | not' in a jq path expression")
        path = self.pipeline(in_condition=True)
        if any(isinstance(step, _Select) for step in path):
            raise JqPathError("select() inside a condition is not supported")
        nxt = self.peek_text()
        if nxt in ("==", "!="):
            self.take()
            return _Compare(path, nxt == "==", self.literal())
        if nxt == "|" and self.peek_text(1) in _STRING_TESTS:
            self.take("|")
            test = self.take(kind="ident").text
            self.take("(")
            argument = self.take(kind="string")
            self.take(")")
            return _StringTest(path, test, _string(argument.text))
        raise JqPathError(
            f'a condition must be PATH == VALUE, PATH != VALUE, has("key") or PATH | startswith/'
            f'endswith/contains("text"); found {nxt or "end"!r}'
        )

    def literal(self) -> Any:
        item = self.take()
        if item.kind == "string":
            return _string(item.text)
        if item.kind == "number":
            return json.loads(item.text)
        if item.kind == "ident" and item.text in ("true", "false", "null"):
            return json.loads(item.text)
        raise JqPathError(f"expected a string, number, true, false or null, found {item.text!r}")


def _optional(step: _Step) -> _Step:
    if isinstance(step, _Field):
        return _Field(step.name, True)
    if isinstance(step, _Index):
        return _Index(step.index, True)
    if isinstance(step, _Each):
        return _Each(True)
    return step


def _string(raw: str) -> str:
    value = json.loads(raw)
    if not isinstance(value, str):
        raise JqPathError(f"not a string: {raw}")
    return value


# -- evaluation ----------------------------------------------------------------------------------


def _run(steps: tuple[_Step, ...], place: Place) -> Iterator[Place]:
    places: list[Place] = [place]
    for step in steps:
        places = [out for p in places for out in _step(step, p)]
        if not places:
            break
    yield from places


def _step(step: _Step, place: Place) -> Iterator[Place]:
    path, value = place
    if isinstance(step, _Field):
        if value is None or isinstance(value, Mapping):
            yield (*path, step.name), (value or {}).get(step.name)
    elif isinstance(step, _Index):
        if isinstance(value, list):
            index = step.index + len(value) if step.index < 0 else step.index
            if 0 <= index < len(value):
                yield (*path, index), value[index]
    elif isinstance(step, _Each):
        if isinstance(value, list):
            yield from (((*path, i), v) for i, v in enumerate(value))
        elif isinstance(value, Mapping):
            yield from (((*path, str(k)), v) for k, v in value.items())
    elif _holds(step.condition, value):
        yield place


def _equal(a: Any, b: Any) -> bool:
    """jq's equality: numbers by value (``1 == 1.0``), but ``true`` is not ``1``, nor ``"1"`` ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _holds(cond: _Cond, value: Any) -> bool:
    if isinstance(cond, _Compare):
        found = [v for _, v in _run(cond.path, ((), value))]
        return any(_equal(v, cond.literal) == cond.equal for v in found)
    if isinstance(cond, _Has):
        return isinstance(value, Mapping) and cond.key in value
    if isinstance(cond, _StringTest):
        test = _STRING_TESTS[cond.test]
        return any(isinstance(v, str) and test(v, cond.argument) for _, v in _run(cond.path, ((), value)))
    if cond.op == "and":
        return all(_holds(part, value) for part in cond.parts)
    if cond.op == "or":
        return any(_holds(part, value) for part in cond.parts)
    return not _holds(cond.parts[0], value)


@dataclass(frozen=True)
class JqPath:
    """One parsed expression; ``paths(doc)`` lists the places it names in ``doc``."""

    text: str
    steps: tuple[_Step, ...]

    @classmethod
    def parse(cls, text: str) -> JqPath:
        """Raises ``JqPathError`` naming the first construct outside the subset."""
        if len(text) > _MAX_LENGTH:
            raise JqPathError(f"jq path expression longer than {_MAX_LENGTH} characters")
        if not text.strip():
            raise JqPathError("empty jq path expression")
        parser = _Parser(text)
        steps = parser.pipeline()
        rest = parser.peek()
        if rest is not None:
            raise JqPathError(f"{rest.text!r} is not supported in a jq path expression (at {rest.at})")
        if not steps:
            raise JqPathError("a jq path expression must name a field ('.' alone names the whole object)")
        return cls(text, steps)

    def paths(self, doc: Any) -> list[tuple[Token, ...]]:
        """The places the expression names that exist in ``doc``, each once, in document order."""
        seen: dict[tuple[Token, ...], None] = {}
        for path, value in _run(self.steps, ((), doc)):
            if path and (value is not None or _exists(doc, path)):
                seen.setdefault(path, None)
        return list(seen)


def _exists(doc: Any, path: tuple[Token, ...]) -> bool:
    node = doc
    for token in path:
        found, node = _child(node, token)
        if not found:
            return False
    return True


def _child(node: Any, token: Token) -> tuple[bool, Any]:
    if isinstance(token, int):
        ok = isinstance(node, list) and 0 <= token < len(node)
        return ok, node[token] if ok else None
    ok = isinstance(node, Mapping) and token in node
    return ok, node[token] if ok else None
