"""Running a parsed Go template (``goparse``) over parameters, as ``text/template`` does.

The data is the parameter set (a map); ``.`` starts as that map and ``$`` always names it. A field
of a map is its entry; a missing entry is nil, or an error with ``missingkey=error``. A field of nil
or of a string is an error, as in Go. Variables declared in a block end with it. Printing a value
that is not set is refused: Go would print ``<no value>`` into the Application, which no one means.

Deliberately not here: parsing, the functions themselves (``gofuncs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.templating.errors import TemplateError
from gitward.templating.goformat import format_value, truth, type_name
from gitward.templating.gofuncs import FUNCTIONS, LAZY, NAMES
from gitward.templating.goparse import (
    ActionNode,
    BlockNode,
    Command,
    FieldNode,
    FunctionNode,
    LiteralNode,
    Node,
    Operand,
    Pipeline,
    PipeNode,
    TextNode,
    VariableNode,
)

_NO_FINAL = object()  # a command that is not fed by a previous one
MAX_OUTPUT = 1 << 20  # characters one template may produce
MAX_RANGE_STEPS = 100_000  # iterations of every range of one execution together


def check_functions(nodes: Sequence[Node]) -> None:
    """Refuse any function gitward does not provide, before anything runs."""
    for node in nodes:
        if isinstance(node, ActionNode):
            _check_pipe(node.pipe)
        elif isinstance(node, BlockNode):
            _check_pipe(node.pipe)
            check_functions(node.body)
            check_functions(node.otherwise)


def _check_pipe(pipe: Pipeline) -> None:
    for command in pipe.commands:
        for arg in command.args:
            if isinstance(arg, FunctionNode) and arg.name not in NAMES:
                raise TemplateError(
                    f"{pipe.source}: function {arg.name!r} is not supported by gitward "
                    f"(supported: {', '.join(NAMES)})"
                )
            if isinstance(arg, PipeNode):
                _check_pipe(arg.pipe)


class Execution:
    """One run of one template over one parameter set."""

    def __init__(self, data: Mapping[str, Any], *, missing_is_error: bool) -> None:
        self._missing_is_error = missing_is_error
        self._vars: list[tuple[str, Any]] = [("$", data)]
        self._out: list[str] = []
        self._size = 0
        self._steps = 0

    def run(self, nodes: Sequence[Node]) -> str:
        self._walk(nodes, self._vars[0][1])
        return "".join(self._out)

    def _emit(self, text: str) -> None:
        self._size += len(text)
        if self._size > MAX_OUTPUT:
            raise TemplateError(f"the template's output is larger than {MAX_OUTPUT} characters")
        self._out.append(text)

    def _walk(self, nodes: Sequence[Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, TextNode):
                self._emit(node.text)
            elif isinstance(node, ActionNode):
                value = self._pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self._emit(_printable(value, node.pipe.source))
            else:
                mark = len(self._vars)
                self._block(node, dot)
                del self._vars[mark:]

    def _block(self, node: BlockNode, dot: Any) -> None:
        if node.kind == "range":
            self._range(node, dot)
            return
        value = self._pipeline(dot, node.pipe)
        if truth(value):
            self._walk(node.body, value if node.kind == "with" else dot)
        else:
            self._walk(node.otherwise, dot)

    def _range(self, node: BlockNode, dot: Any) -> None:
        value = self._pipeline(dot, node.pipe, declare=False)
        items = _range_items(value, node.pipe.source)
        if not items:
            self._walk(node.otherwise, dot)
            return
        for key, element in items:
            self._steps += 1
            if self._steps > MAX_RANGE_STEPS:
                raise TemplateError(f"{node.pipe.source}: more than {MAX_RANGE_STEPS} range iterations")
            mark = len(self._vars)
            if len(node.pipe.decl) == 1:
                self._vars.append((node.pipe.decl[0], element))
            elif len(node.pipe.decl) == 2:
                self._vars += [(node.pipe.decl[0], key), (node.pipe.decl[1], element)]
            self._walk(node.body, element)
            del self._vars[mark:]

    def _pipeline(self, dot: Any, pipe: Pipeline, *, declare: bool = True) -> Any:
        value: Any = _NO_FINAL
        for command in pipe.commands:
            value = self._command(dot, command, value, pipe.source)
        if declare:
            self._vars += [(name, value) for name in pipe.decl]
        return value

    def _command(self, dot: Any, command: Command, final: Any, source: str) -> Any:
        first, args = command.args[0], command.args[1:]
        if isinstance(first, FunctionNode):
            return self._call(first.name, args, dot, final, source)
        if args or final is not _NO_FINAL:
            raise TemplateError(f"{source}: can't give an argument to a non-function")
        return self._operand(dot, first, source)

    def _call(self, name: str, args: Sequence[Operand], dot: Any, final: Any, source: str) -> Any:
        if name in LAZY:
            return self._lazy(name, args, dot, final, source)
        function = FUNCTIONS.get(name)
        if function is None:
            raise TemplateError(f"{source}: function {name!r} is not supported by gitward")
        values = [self._operand(dot, arg, source) for arg in args]
        if final is not _NO_FINAL:
            values.append(final)
        try:
            return function(*values)
        except TemplateError as exc:
            raise TemplateError(f"{source}: {exc}") from None
        except TypeError:
            raise TemplateError(f"{source}: wrong number of arguments for {name} ({len(values)})") from None

    def _lazy(self, name: str, args: Sequence[Operand], dot: Any, final: Any, source: str) -> Any:
        """``and`` returns its first false argument or its last; ``or`` its first true one or its last."""
        count = len(args) + (final is not _NO_FINAL)
        if count < 1:
            raise TemplateError(f"{source}: wrong number of arguments for {name} (0)")
        value: Any = None
        for i in range(count):
            value = self._operand(dot, args[i], source) if i < len(args) else final
            if truth(value) == (name == "or"):
                return value
        return value

    def _operand(self, dot: Any, node: Operand, source: str) -> Any:
        if isinstance(node, FieldNode):
            return self._fields(dot, node.names, source)
        if isinstance(node, VariableNode):
            return self._fields(self._variable(node.name, source), node.names, source)
        if isinstance(node, LiteralNode):
            return node.value
        if isinstance(node, PipeNode):
            return self._fields(self._pipeline(dot, node.pipe, declare=False), node.names, source)
        return self._call(node.name, (), dot, _NO_FINAL, source)

    def _variable(self, name: str, source: str) -> Any:
        for declared, value in reversed(self._vars):
            if declared == name:
                return value
        raise TemplateError(f"{source}: undefined variable {name}")

    def _fields(self, value: Any, names: Sequence[str], source: str) -> Any:
        for i, name in enumerate(names):
            where = "." + ".".join(names[: i + 1])
            if isinstance(value, Mapping):
                if name not in value and self._missing_is_error:
                    raise TemplateError(f"{source}: map has no entry for key {name!r} ({where})")
                value = value.get(name)
            elif value is None:
                raise TemplateError(f"{source}: {where}: the value before .{name} is not set")
            else:
                raise TemplateError(f"{source}: can't evaluate field {name} in type {type_name(value)}")
        return value


def _printable(value: Any, source: str) -> str:
    if value is None:
        raise TemplateError(
            f"{source} gives a value that is not set (Go would print '<no value>'); "
            "give a fallback with default, or test it with if"
        )
    return format_value(value)


def _range_items(value: Any, source: str) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(key, value[key]) for key in sorted(value, key=str)]
    if isinstance(value, bool | float):
        raise TemplateError(f"{source}: range can't iterate over a {type_name(value)}")
    if isinstance(value, int):
        if value > MAX_RANGE_STEPS:
            raise TemplateError(f"{source}: range over {value} is more than {MAX_RANGE_STEPS} iterations")
        return [(i, i) for i in range(value)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(enumerate(value))
    raise TemplateError(f"{source}: range can't iterate over a {type_name(value)}")
