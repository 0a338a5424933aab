"""Version ranges as users write them in revisions and Helm chart versions."""

from __future__ import annotations

import itertools

import pytest

from gitward.sources.semver import is_constraint, parse_constraint, parse_version

TAGS = [
    "v0.9.0",
    "v1.0.0",
    "v1.2.0",
    "v1.2.7",
    "v1.3.0",
    "v1.10.1",
    "v2.0.0-rc.1",
    "v2.0.0",
    "v2.1.0",
    "junk",
]


@pytest.mark.parametrize(
    ("spec", "best"),
    [
        (">=1.2 <2", "v1.10.1"),
        (">=1.2, <1.3", "v1.2.7"),
        ("~1.2", "v1.2.7"),
        ("~1.2.3", "v1.2.7"),
        ("~1", "v1.10.1"),
        ("^1.0", "v1.10.1"),
        ("^0.9", "v0.9.0"),
        ("^2.0.0-rc.0", "v2.1.0"),
        ("1.x", "v1.10.1"),
        ("1.2.*", "v1.2.7"),
        ("*", "v2.1.0"),
        ("1.2", "v1.2.7"),
        ("1.2.0", "v1.2.0"),
        ("=1.3.0", "v1.3.0"),
        ("<1.0.0", "v0.9.0"),
        ("<=1.2", "v1.2.7"),
        (">1.2", "v2.1.0"),
        (">1.2.7 <1.10", "v1.3.0"),
        ("1.0 - 1.2", "v1.2.7"),
        ("<1 || ~1.3", "v1.3.0"),
        (">= 1.2.0 < 1.3.0", "v1.2.7"),
        ("!=2.1.0 >=2", "v2.0.0"),
        (">=3", None),
    ],
)
def test_best_match(spec: str, best: str | None) -> None:
    assert parse_constraint(spec).best(TAGS) == best


def test_prerelease_only_when_named() -> None:
    tags = ["1.0.0", "2.0.0-rc.1"]
    assert parse_constraint(">=1").best(tags) == "1.0.0"
    assert parse_constraint(">=2.0.0-rc.0").best(tags) == "2.0.0-rc.1"


def test_version_order() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0"]
    versions = [parse_version(v) for v in ordered]
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(versions))


@pytest.mark.parametrize("text", ["main", "", "feature/x", ">=", "1.2.3.4", "a || b", "1.0 ||", "release-1"])
def test_not_a_constraint(text: str) -> None:
    assert not is_constraint(text)
    with pytest.raises(ValueError, match=r"range|version"):
        parse_constraint(text)


def test_parse_version() -> None:
    assert str(parse_version("v1.2")) == "1.2.0"
    assert parse_version("1.2.3+build.5") == parse_version("1.2.3")
    assert parse_version("main") is None
