"""Splitting a Go template into text and actions, and an action into tokens.

Go's ``text/template`` delimiters ``{{`` and ``}}``, with its trim markers (``{{- `` removes the
whitespace before the action, `` -}}`` the whitespace after it) and comments (``{{/* ... */}}``).
Inside an action: fields (``.a.b``), variables (``$``, ``$x``), identifiers, strings (interpreted
with Go's escapes, or raw in backquotes), numbers, ``|``, parentheses, ``:=``. A character constant
(``'a'``) and ``=`` are tokens the parser refuses by name.

Deliberately not here: what the tokens mean (``goparse``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gitward.templating.errors import TemplateError

LEFT, RIGHT = "{{", "}}"
_SPACE = " \t\r\n"
_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b", "f": "\f"}
_SIMPLE_ESCAPES["v"] = "\v"
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


@dataclass(frozen=True)
class Token:
    """One token of an action. ``spaced``: whitespace came before it (``(x).y`` is a chain,
    ``(x) .y`` two arguments)."""

    kind: (
        str  # field, dot, variable, ident, string, number, pipe, lparen, rparen, comma, declare, assign, char
    )
    text: str
    value: Any = None
    spaced: bool = False


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Action:
    tokens: tuple[Token, ...]
    source: str  # the action as written, for error messages


def split(template: str) -> list[Text | Action]:
    """The template's text and actions in order, trim markers applied, comments dropped."""
    out: list[Text | Action] = []
    pos, trim_next = 0, False
    while True:
        start = template.find(LEFT, pos)
        text = template[pos:] if start < 0 else template[pos:start]
        if trim_next:
            text = text.lstrip(_SPACE)
        if start < 0:
            if text:
                out.append(Text(text))
            return out
        inner, comment_at = start + len(LEFT), start + len(LEFT)
        if template.startswith("-", inner) and template[inner + 1 : inner + 2] in tuple(_SPACE):
            text = text.rstrip(_SPACE)
            inner, comment_at = inner + 1, inner + 2  # a comment follows the marker's one space
        if text:
            out.append(Text(text))
        if template.startswith("/*", comment_at):
            pos, trim_next = _comment(template, comment_at)
            continue
        tokens, end, trim_next = _lex_action(template, inner)
        out.append(Action(tuple(tokens), template[start:end]))
        pos = end


def _comment(template: str, body: int) -> tuple[int, bool]:
    """A comment starting at ``body`` (its ``/*``): the index after its delimiter, and its trim."""
    close = template.find("*/", body + 2)
    if close < 0:
        raise TemplateError("unclosed comment: '/*' without '*/'")
    after = close + 2
    if template.startswith(RIGHT, after):
        return after + len(RIGHT), False
    if template.startswith(" -" + RIGHT, after):
        return after + 2 + len(RIGHT), True
    raise TemplateError("a comment must end with '*/}}'")


def _lex_action(s: str, i: int) -> tuple[list[Token], int, bool]:
    """Tokens from ``i`` to the closing delimiter; returns them, the index after it, and whether it
    trims the whitespace that follows."""
    tokens: list[Token] = []
    spaced = True
    while True:
        if i >= len(s):
            raise TemplateError(f"unclosed action: {s[max(0, i - 40) : i]!r} has no '}}}}'")
        c = s[i]
        if s.startswith(RIGHT, i):
            return tokens, i + len(RIGHT), False
        if c in _SPACE:
            j = i
            while j < len(s) and s[j] in _SPACE:
                j += 1
            if s.startswith("-" + RIGHT, j):
                return tokens, j + 1 + len(RIGHT), True
            i, spaced = j, True
            continue
        token, i = _token(s, i, spaced=spaced)
        tokens.append(token)
        spaced = False


_PUNCTUATION = {"|": "pipe", "(": "lparen", ")": "rparen", ",": "comma"}


def _token(s: str, i: int, *, spaced: bool) -> tuple[Token, int]:
    c = s[i]
    if c in _PUNCTUATION:
        return Token(_PUNCTUATION[c], c, spaced=spaced), i + 1
    if s.startswith(":=", i):
        return Token("declare", ":=", spaced=spaced), i + 2
    if c == "=":
        return Token("assign", "=", spaced=spaced), i + 1
    if c == '"':
        value, end = _quoted(s, i)
        return Token("string", s[i:end], value, spaced), end
    if c == "`":
        end = s.find("`", i + 1)
        if end < 0:
            raise TemplateError("unterminated raw string (a backquote without its closing one)")
        return Token("string", s[i : end + 1], s[i + 1 : end], spaced), end + 1
    if c == "'":
        end = s.find("'", i + 1)
        return Token("char", s[i : end + 1 if end > 0 else i + 1], spaced=spaced), (
            end + 1 if end > 0 else i + 1
        )
    if c == "$":
        match = _IDENT.match(s, i + 1)
        end = match.end() if match else i + 1
        return Token("variable", s[i:end], spaced=spaced), end
    if c == "." and not s[i + 1 : i + 2].isdigit():
        match = _IDENT.match(s, i + 1)
        if match is None:
            return Token("dot", ".", spaced=spaced), i + 1
        return Token("field", s[i : match.end()], match.group(), spaced), match.end()
    number = _NUMBER.match(s, i)
    if number is not None and number.group() not in ("+", "-", ""):
        return Token("number", number.group(), _number(number.group()), spaced), number.end()
    ident = _IDENT.match(s, i)
    if ident is not None:
        return Token("ident", ident.group(), spaced=spaced), ident.end()
    raise TemplateError(f"unexpected {c!r} in an action")


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        pass
    try:
        return float(clean)
    except ValueError:
        raise TemplateError(f"bad number syntax: {text!r}") from None


def _quoted(s: str, i: int) -> tuple[str, int]:
    """A Go interpreted string literal starting at ``s[i]`` (a double quote): its value and end."""
    out: list[str] = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == '"':
            return "".join(out), j + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            j += 1
            continue
        escape = s[j + 1 : j + 2]
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
            j += 2
        elif escape in _HEX_ESCAPES:
            width = _HEX_ESCAPES[escape]
            digits = s[j + 2 : j + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise TemplateError(f"bad escape \\{escape} in a string")
            out.append(chr(int(digits, 16)))
            j += 2 + width
        else:
            raise TemplateError(f"unknown escape \\{escape} in a string")
    raise TemplateError("unterminated string (a double quote without its closing one)")
