"""Semantic versions and the range syntax users write in ``revision`` and Helm ``version`` fields.

The syntax is the one Argo CD, Flux and Helm users already know: comparisons (``>=1.2 <2``, commas or
spaces mean AND; ``!=1.3`` excludes all of 1.3.x, as ``1.3`` includes it), ``||`` for OR, tilde
(``~1.2``: same minor), caret (``^1.0``: same major, or same minor below 1.0), wildcards (``1.x``,
``1.2.*``, ``*``), bare partial versions (``1.2`` means ``1.2.x``) and hyphen ranges (``1.2 - 1.4``).
A leading ``v`` is accepted on versions, so tags like ``v1.2.3`` work. Numbers are ASCII digits.
Pre-releases match only when the range itself names a pre-release, so ``>=1.0`` never picks ``2.0.0-rc1``.

Pure: no I/O. Deliberately not here: build-metadata ordering (ignored, as SemVer says) and the npm
extensions nobody writes in GitOps (``latest`` tags, ``x`` inside pre-release identifiers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# ASCII digits only ('\d' would take any script's), and numbers of at most ``_MAX_DIGITS``: a longer
# one is no version anyone releases, and int() refuses more than 4300 digits, so a tag like
# ``v1.<5000 digits>`` must read as "not a version" rather than break the choice among the others.
_MAX_DIGITS = 64
_NUMBER = rf"(?:0|[1-9][0-9]{{0,{_MAX_DIGITS - 1}}})"
_VERSION = re.compile(
    rf"^v?(?P<major>{_NUMBER})(?:\.(?P<minor>{_NUMBER}))?(?:\.(?P<patch>{_NUMBER}))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_PART = rf"(?:[0-9]{{1,{_MAX_DIGITS}}}|[xX*])"
_PARTIAL = re.compile(rf"^v?(?P<parts>{_PART}(?:\.{_PART}){{0,2}})(?:-(?P<pre>[0-9A-Za-z.-]+))?$")
_TERM = re.compile(r"(?P<op>~>|~|\^|>=|<=|!=|=|>|<)?\s*(?P<ver>[^\s,<>=!~^|]+)")


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers sort before alphanumeric ones.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


def parse_version(text: str) -> Version | None:
    """The version in ``text`` (``v1.2.3``, ``1.2``, ``1.0.0-rc.1+build``), or None if it is not one."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
    if not _numbers_fit(pre):
        return None
    return Version(int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0), pre)


def _numbers_fit(prerelease: tuple[str, ...]) -> bool:
    """Numeric pre-release identifiers are compared as numbers: they too must fit ``_MAX_DIGITS``."""
    return all(len(part) <= _MAX_DIGITS for part in prerelease if part.isdigit())


@dataclass(frozen=True)
class _Comparator:
    op: str
    version: Version
    high: Version | None = None  # op "outside": below ``version`` or at/above ``high`` (None: above none)

    def allows(self, v: Version) -> bool:
        a, b = v.key(), self.version.key()
        if self.op == "outside":
            return a < b or (self.high is not None and a >= self.high.key())
        return {
            "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "=": a == b, "!=": a != b,
        }[self.op]  # fmt: skip


@dataclass(frozen=True)
class _Partial:
    """A version with some parts missing or wildcarded: ``1``, ``1.x``, ``1.2.*``, ``*``."""

    parts: tuple[int, ...]  # the numeric prefix; length 0..3
    prerelease: tuple[str, ...]

    def low(self) -> Version:
        padded = (*self.parts, 0, 0, 0)
        return Version(padded[0], padded[1], padded[2], self.prerelease)

    def next_up(self) -> Version | None:
        """First version above everything this partial covers (None for ``*``)."""
        if not self.parts:
            return None
        if len(self.parts) == 1:
            return Version(self.parts[0] + 1, 0, 0)
        if len(self.parts) == 2:
            return Version(self.parts[0], self.parts[1] + 1, 0)
        return Version(self.parts[0], self.parts[1], self.parts[2] + 1)


def _partial(text: str) -> _Partial:
    match = _PARTIAL.match(text)
    if match is None:
        raise ValueError(f"invalid version {text!r} in range")
    numbers: list[int] = []
    for part in match["parts"].split("."):
        if part in ("x", "X", "*"):
            break
        numbers.append(int(part))
    pre = tuple(match["pre"].split(".")) if match["pre"] and len(numbers) == 3 else ()
    if not _numbers_fit(pre):
        raise ValueError(f"invalid version {text!r} in range")
    return _Partial(tuple(numbers), pre)


def _caret_upper(p: _Partial) -> Version | None:
    parts = p.parts
    if not parts:
        return None
    if parts[0] > 0 or len(parts) == 1:
        return Version(parts[0] + 1, 0, 0)
    if parts[1] > 0 or len(parts) == 2:
        return Version(0, parts[1] + 1, 0)
    return Version(0, 0, parts[2] + 1)


def _range(low: Version | None, high: Version | None) -> list[_Comparator]:
    out = [] if low is None else [_Comparator(">=", low)]
    return out if high is None else [*out, _Comparator("<", high)]


def _term(op: str, p: _Partial) -> list[_Comparator]:
    exact = len(p.parts) == 3
    if op in ("", "="):
        return [_Comparator("=", p.low())] if exact else _range(p.low(), p.next_up())
    if op == "!=":
        # a partial excludes everything its bare form includes: "!=1.2" is "not 1.2.x"
        return [_Comparator("!=", p.low())] if exact else [_Comparator("outside", p.low(), p.next_up())]
    if op == ">":
        up = p.low() if exact else p.next_up()
        return [_Comparator(">" if exact else ">=", up)] if up else [_Comparator("<", Version(0, 0, 0))]
    if op == ">=":
        return [_Comparator(">=", p.low())]
    if op == "<":
        return [_Comparator("<", p.low())]
    if op == "<=":
        up = p.next_up()
        return [_Comparator("<=", p.low())] if exact else _range(None, up)
    if op in ("~", "~>"):
        high = p.next_up() if len(p.parts) < 2 else Version(p.parts[0], p.parts[1] + 1, 0)
        return _range(p.low(), high)
    return _range(p.low(), _caret_upper(p))  # "^"


def _group(text: str) -> list[_Comparator]:
    hyphen = re.fullmatch(r"\s*(\S+)\s+-\s+(\S+)\s*", text)
    if hyphen:
        low, high = _partial(hyphen[1]), _partial(hyphen[2])
        upper = _term("<=", high)
        return [_Comparator(">=", low.low()), *upper]
    comparators: list[_Comparator] = []
    pos, terms, body = 0, 0, text.replace(",", " ")
    for match in _TERM.finditer(body):
        if body[pos : match.start()].strip():
            raise ValueError(f"invalid range {text.strip()!r}")
        comparators.extend(_term(match["op"] or "", _partial(match["ver"])))
        pos, terms = match.end(), terms + 1
    if terms == 0 or body[pos:].strip():
        raise ValueError(f"invalid range {text.strip()!r}")
    return comparators


@dataclass(frozen=True)
class Constraint:
    """A parsed range; ``allows`` answers for one version, ``best`` picks the highest match."""

    text: str
    groups: tuple[tuple[_Comparator, ...], ...]

    def allows(self, version: Version) -> bool:
        return any(_group_allows(group, version) for group in self.groups)

    def best(self, candidates: Iterable[str]) -> str | None:
        """The candidate string whose version is highest among those allowed (None if none is)."""
        chosen: tuple[Version, str] | None = None
        for text in candidates:
            version = parse_version(text)
            if version is None or not self.allows(version):
                continue
            if chosen is None or chosen[0] < version:
                chosen = (version, text)
        return chosen[1] if chosen else None


def _group_allows(group: tuple[_Comparator, ...], version: Version) -> bool:
    if version.prerelease and not any(
        c.version.prerelease and c.version.key()[:3] == version.key()[:3] for c in group
    ):
        return False
    return all(c.allows(version) for c in group)


def parse_constraint(text: str) -> Constraint:
    """Parse a range; raises ValueError naming the bad text."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty version range")
    groups = tuple(tuple(_group(part)) for part in stripped.split("||"))
    return Constraint(text=stripped, groups=groups)


def is_constraint(text: str) -> bool:
    """True when ``text`` parses as a version range (a plain branch name like ``main`` does not)."""
    try:
        parse_constraint(text)
    except ValueError:
        return False
    return True
