"""Parsing the Go template subset gitward runs into a tree the executor walks (``goexec``).

What parses: text; actions printing a pipeline; ``if``/``else if``/``else``/``end``, ``range``
(over a list, a map or a number, with ``$v :=`` or ``$i, $v :=``), ``with``; ``$x := pipeline``;
pipelines of commands joined by ``|``; operands: fields (``.a.b``), ``.``, variables (``$``,
``$x.a``), strings, numbers, ``true``/``false``/``nil``, parenthesised pipelines (``(...).a``) and
function names. What is refused, by name: ``define``, ``template``, ``block``, ``break``,
``continue``, assigning to a variable (``$x = ...``), character constants.

Deliberately not here: which functions exist (``gofuncs``), running the tree (``goexec``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitward.templating.errors import TemplateError
from gitward.templating.golex import Action, Text, Token, split

_BLOCKS = ("if", "range", "with")
_REFUSED = ("define", "template", "block", "break", "continue")
_KEYWORDS = (*_BLOCKS, "else", "end", *_REFUSED)


@dataclass(frozen=True)
class FieldNode:
    names: tuple[str, ...]  # () is the dot itself


@dataclass(frozen=True)
class VariableNode:
    name: str  # "$" or "$x"
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionNode:
    name: str


@dataclass(frozen=True)
class LiteralNode:
    value: Any  # str, int, float, bool or None (nil)


@dataclass(frozen=True)
class PipeNode:
    pipe: Pipeline
    names: tuple[str, ...] = ()


Operand = FieldNode | VariableNode | FunctionNode | LiteralNode | PipeNode


@dataclass(frozen=True)
class Command:
    args: tuple[Operand, ...]


@dataclass(frozen=True)
class Pipeline:
    decl: tuple[str, ...]
    commands: tuple[Command, ...]
    source: str


@dataclass(frozen=True)
class TextNode:
    text: str


@dataclass(frozen=True)
class ActionNode:
    pipe: Pipeline


@dataclass(frozen=True)
class BlockNode:
    kind: str  # if, range, with
    pipe: Pipeline
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...]


Node = TextNode | ActionNode | BlockNode


@dataclass
class _Open:
    """A block being parsed; ``chained``: opened by ``else if``, so its ``end`` closes the outer one too."""

    kind: str
    pipe: Pipeline | None
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] | None = None
    chained: bool = False

    @property
    def current(self) -> list[Node]:
        return self.body if self.otherwise is None else self.otherwise


def parse(template: str) -> tuple[Node, ...]:
    """The template's tree; TemplateError names the first construct that is wrong or refused."""
    stack = [_Open("root", None)]
    for segment in split(template):
        if isinstance(segment, Text):
            stack[-1].current.append(TextNode(segment.text))
        else:
            _action(segment, stack)
    if len(stack) > 1:
        raise TemplateError(f"{{{{{stack[-1].kind}}}}} has no {{{{end}}}}")
    return tuple(stack[0].body)


def _action(action: Action, stack: list[_Open]) -> None:
    tokens = list(action.tokens)
    if not tokens:
        raise TemplateError(f"{action.source}: missing value for command")
    head = tokens[0].text if tokens[0].kind == "ident" else ""
    if head in _REFUSED:
        raise TemplateError(f"{action.source}: {{{{{head}}}}} is not supported by gitward")
    if head in _BLOCKS:
        stack.append(_Open(head, _pipeline(tokens[1:], action.source, kind=head)))
    elif head == "else":
        _else(tokens[1:], action, stack)
    elif head == "end":
        if len(tokens) > 1:
            raise TemplateError(f"{action.source}: unexpected words after end")
        _end(action, stack)
    else:
        stack[-1].current.append(ActionNode(_pipeline(tokens, action.source, kind="action")))


def _else(rest: list[Token], action: Action, stack: list[_Open]) -> None:
    top = stack[-1]
    if top.kind == "root" or top.otherwise is not None:
        raise TemplateError(f"{action.source}: unexpected {{{{else}}}}")
    top.otherwise = []
    if not rest:
        return
    if rest[0].kind == "ident" and rest[0].text == "if" and top.kind == "if":
        stack.append(_Open("if", _pipeline(rest[1:], action.source, kind="if"), chained=True))
        return
    raise TemplateError(f"{action.source}: only 'else' and 'else if' are supported after {top.kind}")


def _end(action: Action, stack: list[_Open]) -> None:
    while True:
        if len(stack) == 1:
            raise TemplateError(f"{action.source}: unexpected {{{{end}}}}")
        block = stack.pop()
        assert block.pipe is not None
        node = BlockNode(block.kind, block.pipe, tuple(block.body), tuple(block.otherwise or ()))
        stack[-1].current.append(node)
        if not block.chained:
            return


def _pipeline(tokens: list[Token], source: str, *, kind: str) -> Pipeline:
    """``[$x :=] command | command ...``; two variables only in ``range``."""
    decl: tuple[str, ...] = ()
    if len(tokens) >= 2 and tokens[0].kind == "variable" and tokens[1].kind in ("declare", "assign"):
        if tokens[1].kind == "assign":
            raise TemplateError(
                f"{source}: assigning to a variable ({tokens[0].text} = ...) is not supported"
            )
        decl, tokens = (tokens[0].text,), tokens[2:]
    elif len(tokens) >= 4 and [t.kind for t in tokens[:4]] == ["variable", "comma", "variable", "declare"]:
        if kind != "range":
            raise TemplateError(f"{source}: two variables are declared only by range")
        decl, tokens = (tokens[0].text, tokens[2].text), tokens[4:]
    if not tokens:
        raise TemplateError(f"{source}: missing value for command")
    commands: list[Command] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        depth += {"lparen": 1, "rparen": -1}.get(token.kind, 0)
        if token.kind == "pipe" and depth == 0:
            commands.append(_command(current, source))
            current = []
        else:
            current.append(token)
    commands.append(_command(current, source))
    return Pipeline(decl, tuple(commands), source)


def _command(tokens: list[Token], source: str) -> Command:
    if not tokens:
        raise TemplateError(f"{source}: missing command in a pipeline")
    args: list[Operand] = []
    i = 0
    while i < len(tokens):
        operand, i = _operand(tokens, i, source)
        if isinstance(operand, FunctionNode) and args:
            raise TemplateError(
                f"{source}: function {operand.name!r} used as an argument; call it in parentheses"
            )
        args.append(operand)
    return Command(tuple(args))


def _chain(tokens: list[Token], i: int) -> tuple[tuple[str, ...], int]:
    """Field names directly after a term (no space): ``$x.a.b``, ``(...).a``."""
    names: list[str] = []
    while i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
        names.append(str(tokens[i].value))
        i += 1
    return tuple(names), i


def _operand(tokens: list[Token], i: int, source: str) -> tuple[Operand, int]:
    token = tokens[i]
    if token.kind == "field":
        names, end = _chain(tokens, i + 1)
        return FieldNode((str(token.value), *names)), end
    if token.kind == "dot":
        return FieldNode(()), i + 1
    if token.kind == "variable":
        names, end = _chain(tokens, i + 1)
        return VariableNode(token.text, names), end
    if token.kind in ("string", "number"):
        return LiteralNode(token.value), i + 1
    if token.kind == "ident":
        return _identifier(token, source), i + 1
    if token.kind == "lparen":
        close = _matching(tokens, i, source)
        pipe = _pipeline(tokens[i + 1 : close], source, kind="paren")
        if pipe.decl:
            raise TemplateError(f"{source}: a variable cannot be declared inside parentheses")
        names, end = _chain(tokens, close + 1)
        return PipeNode(pipe, names), end
    if token.kind == "char":
        raise TemplateError(f"{source}: character constants ({token.text}) are not supported; use a string")
    raise TemplateError(f"{source}: unexpected {token.text!r}")


def _identifier(token: Token, source: str) -> Operand:
    if token.text in ("true", "false"):
        return LiteralNode(token.text == "true")
    if token.text == "nil":
        return LiteralNode(None)
    if token.text in _KEYWORDS:
        raise TemplateError(f"{source}: unexpected keyword {token.text!r}")
    return FunctionNode(token.text)


def _matching(tokens: list[Token], i: int, source: str) -> int:
    depth = 0
    for j in range(i, len(tokens)):
        depth += {"lparen": 1, "rparen": -1}.get(tokens[j].kind, 0)
        if depth == 0:
            return j
    raise TemplateError(f"{source}: unclosed parenthesis")
