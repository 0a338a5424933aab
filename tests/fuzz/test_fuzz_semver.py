"""Fuzzing versions and version ranges (``sources/semver.py``): what ``revision`` and Helm ``version``
fields hold, matched against a repository's tags.

Properties: ``parse_version`` accepts exactly the documented version grammar (ASCII digits, an
optional ``v``, pre-release and build parts) and returns None for anything else, whatever the text,
and prints back what it read; ``parse_constraint`` parses or raises ValueError quoting the part it
could not read; every operator (comparisons, ``~``, ``^``, wildcards, bare partials, hyphen ranges,
AND, ``||``) allows exactly the release versions its documented meaning allows; a pre-release
matches only a range naming a pre-release of the same version; ``best`` picks a tag the range allows
and whose version no other allowed tag exceeds, whatever the order of the tags.
"""

from __future__ import annotations

import ast
import re

import pytest
from fuzzkit import outcome
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitward.sources.semver import Version, is_constraint, parse_constraint, parse_version

pytestmark = pytest.mark.fuzz

GRAMMAR = re.compile(
    r"v?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?(\.(0|[1-9][0-9]*))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?",
    re.ASCII,
)
numbers = st.integers(0, 30) | st.integers(0, 10**6)
identifiers = st.text(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=6
)
versions = st.builds(Version, numbers, numbers, numbers, st.lists(identifiers, max_size=3).map(tuple))
releases = st.builds(Version, st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))
version_texts = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["", "v"]),
    versions.map(str),
    st.sampled_from(["", "-rc.1", "-0", "-a..b"]),
    st.sampled_from(["", "+build.5", "+x"]),
)
VERSION_PIECES = [*"0123456789.-+vxX*", "\u0661", "\u00b2", "\uff11", " ", "rc", "\n", "1" * 5000]


@given(st.text(max_size=30) | st.lists(st.sampled_from(VERSION_PIECES), max_size=12).map("".join))
@example("1\u0663.0.0")  # an Arabic-Indic digit: was read as 13.0.0
@example("v1." + "9" * 5000 + ".0")  # more digits than int() reads: was a ValueError
@example("1.0.0-" + "9" * 5000)
def test_parse_version_accepts_exactly_the_grammar(text: str) -> None:
    version = parse_version(text)
    assert (version is not None) == bool(GRAMMAR.fullmatch(text.strip())) or _too_long(text)
    if version is not None:
        version.key()  # comparable
        assert parse_version(str(version)) == version


def _too_long(text: str) -> bool:
    return bool(re.search(r"[0-9]{65}", text))


@given(version_texts)
def test_a_version_prints_back_as_it_was_read(text: str) -> None:
    version = parse_version(text)
    assert version is not None
    core = re.sub(r"^v|\+.*$", "", text)
    assert str(version) == core


RANGE_PIECES = [
    *"0123456789.-+vxX*^~<>=!|, ", "1.2", "1.2.3", ">=", "<=", "~>", "!=", "||", " - ", "-rc.1",
    "\u0661", "1" * 5000, "\t", "'",
]  # fmt: skip


@given(st.text(max_size=30) | st.lists(st.sampled_from(RANGE_PIECES), max_size=12).map("".join))
@example("\u0661.x")  # an Arabic-Indic digit: was read as 1.x
@example(">=" + "9" * 5000)  # more digits than int() reads: was an error naming nothing
@example("1 - 2 - 3")
def test_a_range_parses_or_its_error_quotes_what_it_could_not_read(text: str) -> None:
    constraint, error = outcome(lambda: parse_constraint(text), ValueError)
    assert is_constraint(text) == (constraint is not None)
    if error is not None:
        message = str(error)
        if text.strip():
            quoted = re.search(r"'.*'|\".*\"", message)
            assert quoted is not None, message
            assert ast.literal_eval(quoted.group(0)) in text, message
        return
    assert not re.search(r"\d", re.sub("[0-9]", "", text)), "a digit of another script was read"


def bounds(op: str, parts: tuple[int, ...]) -> tuple[Version | None, bool, Version | None, bool]:
    """(low, low included, high, high included) of ``op`` on a partial or exact version, by the
    documented meaning, for release versions; None for an open end."""
    padded = (*parts, 0, 0, 0)
    low = Version(padded[0], padded[1], padded[2])
    if not parts:
        up = None
    elif len(parts) == 1:
        up = Version(parts[0] + 1, 0, 0)
    elif len(parts) == 2:
        up = Version(parts[0], parts[1] + 1, 0)
    else:
        up = Version(parts[0], parts[1], parts[2] + 1)
    exact = len(parts) == 3
    if op in ("", "="):
        return (low, True, low, True) if exact else (low, True, up, False)
    if op == ">=":
        return low, True, None, False
    if op == ">":
        return (
            (low, False, None, False)
            if exact
            else (up, True, None, False)
            if up
            else (low, False, low, False)
        )
    if op == "<":
        return None, False, low, False
    if op == "<=":
        return (None, False, low, True) if exact else (None, False, up, False)
    if op in ("~", "~>"):
        high = up if len(parts) < 2 else Version(parts[0], parts[1] + 1, 0)
        return low, True, high, False
    # ^: the leftmost non-zero part stays (or the last written one, when all are zero)
    if not parts:
        return low, True, None, False
    if parts[0] > 0 or len(parts) == 1:
        return low, True, Version(parts[0] + 1, 0, 0), False
    if parts[1] > 0 or len(parts) == 2:
        return low, True, Version(0, parts[1] + 1, 0), False
    return low, True, Version(0, 0, parts[2] + 1), False


def within(v: Version, low: Version | None, low_in: bool, high: Version | None, high_in: bool) -> bool:
    if low is not None and (v.key() < low.key() or (v.key() == low.key() and not low_in)):
        return False
    return not (high is not None and (v.key() > high.key() or (v.key() == high.key() and not high_in)))


partials = st.lists(st.integers(0, 4), max_size=3).map(tuple)
OPS = ["", "=", ">=", ">", "<", "<=", "~", "~>", "^"]


def spelled(parts: tuple[int, ...], wildcard: str) -> str:
    if not parts:
        return "*" if wildcard == "" else wildcard
    text = ".".join(map(str, parts))
    return f"{text}.{wildcard}" if wildcard and len(parts) < 3 else text


@given(
    st.sampled_from(OPS), partials, st.sampled_from(["", "x", "X", "*"]), st.sampled_from(["", "v"]), releases
)
@example("^", (0, 0), "", "", Version(0, 0, 5))
@example(">", (), "*", "", Version(0, 0, 0))
def test_each_operator_allows_exactly_what_it_documents(
    op: str, parts: tuple[int, ...], wildcard: str, prefix: str, version: Version
) -> None:
    text = f"{op}{prefix if parts else ''}{spelled(parts, wildcard)}"
    assert parse_constraint(text).allows(version) == within(version, *bounds(op, parts)), text


@given(partials, partials, releases)
def test_a_hyphen_range_includes_both_ends(
    low: tuple[int, ...], high: tuple[int, ...], version: Version
) -> None:
    text = f"{spelled(low, 'x')} - {spelled(high, 'x')}"
    expected = within(version, bounds(">=", low)[0], True, *bounds("<=", high)[2:])
    assert parse_constraint(text).allows(version) == expected, text


@given(partials, st.sampled_from(["", "x"]), releases)
@example((1, 2), "", Version(1, 2, 5))  # '!=1.2' excludes 1.2.x as '1.2' includes it: was allowed
@example((1,), "x", Version(1, 9, 0))
def test_not_equal_excludes_exactly_what_the_bare_version_includes(
    parts: tuple[int, ...], wildcard: str, version: Version
) -> None:
    bare = parse_constraint(spelled(parts, wildcard))
    assert parse_constraint(f"!={spelled(parts, wildcard)}").allows(version) == (not bare.allows(version))


ranges = st.builds(lambda op, parts: f"{op}{spelled(parts, '')}", st.sampled_from(OPS), partials)


@given(ranges, ranges, st.sampled_from([" ", ", ", ","]), releases)
def test_and_and_or_combine_as_documented(a: str, b: str, joiner: str, version: Version) -> None:
    first, second = parse_constraint(a).allows(version), parse_constraint(b).allows(version)
    assert parse_constraint(f"{a}{joiner}{b}").allows(version) == (first and second)
    assert parse_constraint(f"{a} || {b}").allows(version) == (first or second)


@given(ranges, versions)
def test_a_pre_release_matches_only_a_range_naming_one_of_the_same_version(
    text: str, version: Version
) -> None:
    assume(version.prerelease)
    assert not parse_constraint(text).allows(version)
    named = Version(version.major, version.minor, version.patch, ("0",))
    assert parse_constraint(f">={named}").allows(version) == (version.key() >= named.key())


@given(
    ranges | st.sampled_from(["^1.0.0-rc.0", ">=0.0.0-0", "*", ">=2 <1"]),
    st.lists(version_texts | st.text(max_size=8), max_size=12),
    st.randoms(),
)
def test_best_is_an_allowed_tag_that_no_allowed_tag_exceeds(
    text: str, tags: list[str], random: object
) -> None:
    constraint = parse_constraint(text)
    allowed = [t for t in tags if (v := parse_version(t)) is not None and constraint.allows(v)]
    chosen = constraint.best(tags)
    if not allowed:
        assert chosen is None
        return
    assert chosen in allowed
    top = parse_version(chosen)
    assert top is not None
    assert all(not (top < parse_version(t)) for t in allowed)  # type: ignore[operator]
    shuffled = list(tags)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    again = constraint.best(shuffled)
    assert again is not None
    assert parse_version(again).key() == top.key()  # type: ignore[union-attr]
