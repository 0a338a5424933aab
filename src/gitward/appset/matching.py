"""Label selectors and path patterns, as the generators use them.

``selects``: Kubernetes' label selector (``matchLabels`` and ``In``/``NotIn``/``Exists``/
``DoesNotExist`` expressions, all of which must hold) over a string map: a Cluster's labels, or a
parameter set's string values (a generator's post-``selector``, as in Argo CD).

``path_match``: Go's ``path.Match``, which Argo CD's Git directory generator uses: ``*`` and ``?``
stop at ``/``, ``[...]`` (``[^...]`` negated) is a character class, ``\\`` quotes. ``glob_match``
adds ``**`` as a whole segment for any number of directories (the doublestar rules of Argo CD's
``--enable-new-git-file-globbing``), which the Git files generator uses. A malformed pattern is an
error naming it, never a silent non-match.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from gitward.model.appsetgen import LabelSelector


class PatternError(ValueError):
    """A path pattern that is not well formed."""


def selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    for requirement in selector.match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        holds = {
            "In": present and value in requirement.values,
            "NotIn": not present or value not in requirement.values,
            "Exists": present,
            "DoesNotExist": not present,
        }[requirement.operator]
        if not holds:
            return False
    return True


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The regular expression of the character class starting after ``[`` at ``i``; its end."""
    out = "["
    if pattern[i : i + 1] == "^":
        out, i = "[^", i + 1
    first = True
    while True:
        if i >= len(pattern):
            raise PatternError(f"bad pattern {pattern!r}: unclosed character class")
        c = pattern[i]
        if c == "]" and not first:
            return out + "]", i + 1
        if c == "\\":
            i += 1
            if i >= len(pattern):
                raise PatternError(f"bad pattern {pattern!r}: ends with a backslash")
            c = pattern[i]
        elif c == "-" or (c == "]" and first):
            raise PatternError(f"bad pattern {pattern!r}: misplaced {c!r} in a character class")
        out += re.escape(c)
        i += 1
        if pattern[i : i + 1] == "-" and pattern[i + 1 : i + 2] not in ("", "]"):
            high = pattern[i + 1]
            if high == "\\":
                high = pattern[i + 2 : i + 3]
                i += 1
            if not high or high < c:
                raise PatternError(f"bad pattern {pattern!r}: bad range in a character class")
            out += "-" + re.escape(high)
            i += 2
        first = False


def _segment_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            part, i = _class(pattern, i + 1)
            out += part
            continue
        elif c == "\\":
            if i + 1 >= len(pattern):
                raise PatternError(f"bad pattern {pattern!r}: ends with a backslash")
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return out


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str, *, doublestar: bool) -> re.Pattern[str]:
    if not doublestar:
        return re.compile(_segment_regex(pattern))
    parts = pattern.split("/")
    regex = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
        else:
            regex += _segment_regex(part) + ("" if last else "/")
    return re.compile(regex)


def path_match(pattern: str, path: str) -> bool:
    """Go's ``path.Match(pattern, path)``."""
    return _compiled(pattern.lstrip("/"), doublestar=False).fullmatch(path) is not None


def glob_match(pattern: str, path: str) -> bool:
    """``path_match`` where a ``**`` segment matches any number of directories."""
    return _compiled(pattern.lstrip("/"), doublestar=True).fullmatch(path) is not None
