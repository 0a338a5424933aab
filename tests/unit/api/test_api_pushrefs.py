"""What each host's push payload says it moved; anything unclear reads as "nothing known" (fetch)."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.api.pushrefs import MAX_REFS, pushed_refs

A = "a" * 40
B = "b" * 40
ZERO = "0" * 40
SHA256 = "c" * 64

CLEAR: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    ("github push", "github", {"ref": "refs/heads/main", "after": A}, {"refs/heads/main": A}),
    (
        "github upper-case id",
        "github",
        {"ref": "refs/heads/main", "after": A.upper()},
        {"refs/heads/main": A},
    ),
    ("github deletion", "github", {"ref": "refs/heads/old", "after": ZERO}, {"refs/heads/old": ZERO}),
    ("github tag", "github", {"ref": "refs/tags/v1.2.0", "after": B}, {"refs/tags/v1.2.0": B}),
    (
        "sha-256 repository",
        "github",
        {"ref": "refs/heads/main", "after": SHA256},
        {"refs/heads/main": SHA256},
    ),
    ("gitea push", "gitea", {"ref": "refs/heads/dev", "after": B}, {"refs/heads/dev": B}),
    (
        "gitlab push",
        "gitlab",
        {"object_kind": "push", "ref": "refs/heads/main", "after": A},
        {"refs/heads/main": A},
    ),
    (
        "bitbucket cloud update and tag",
        "bitbucket",
        {
            "push": {
                "changes": [
                    {"new": {"type": "branch", "name": "main", "target": {"hash": A}}, "old": None},
                    {"new": {"type": "tag", "name": "v2", "target": {"hash": B}}, "old": None},
                ]
            }
        },
        {"refs/heads/main": A, "refs/tags/v2": B},
    ),
    (
        "bitbucket cloud deletion",
        "bitbucket",
        {
            "push": {
                "changes": [{"new": None, "old": {"type": "branch", "name": "gone", "target": {"hash": A}}}]
            }
        },
        {"refs/heads/gone": ZERO},
    ),
    (
        "bitbucket server",
        "bitbucket",
        {"changes": [{"refId": "refs/heads/main", "fromHash": B, "toHash": A, "type": "UPDATE"}]},
        {"refs/heads/main": A},
    ),
]

UNCLEAR: list[tuple[str, str, dict[str, Any]]] = [
    (
        "generic names no commit",
        "generic",
        {"repository": "https://h/r.git", "after": A, "ref": "refs/heads/m"},
    ),
    ("github ping", "github", {}),
    ("missing after", "github", {"ref": "refs/heads/main"}),
    ("short id", "github", {"ref": "refs/heads/main", "after": A[:12]}),
    ("not hex", "github", {"ref": "refs/heads/main", "after": "g" * 40}),
    ("pull request ref", "github", {"ref": "refs/pull/1/head", "after": A}),
    ("short ref name", "github", {"ref": "main", "after": A}),
    ("non-string after", "github", {"ref": "refs/heads/main", "after": 7}),
    ("bitbucket cloud without changes", "bitbucket", {"push": {"changes": []}}),
    (
        "bitbucket cloud unknown type",
        "bitbucket",
        {"push": {"changes": [{"new": {"type": "x", "name": "m"}}]}},
    ),
    (
        "contradicting entries",
        "bitbucket",
        {"changes": [{"refId": "refs/heads/m", "toHash": A}, {"refId": "refs/heads/m", "toHash": B}]},
    ),
    (
        "too many changes",
        "bitbucket",
        {"changes": [{"refId": f"refs/heads/b{i}", "toHash": A} for i in range(MAX_REFS + 1)]},
    ),
]


@pytest.mark.parametrize(("case", "kind", "payload", "expected"), CLEAR, ids=[c[0] for c in CLEAR])
def test_a_plain_push_names_what_it_moved(
    case: str, kind: str, payload: dict[str, Any], expected: Any
) -> None:
    assert pushed_refs(kind, payload) == expected


@pytest.mark.parametrize(("case", "kind", "payload"), UNCLEAR, ids=[c[0] for c in UNCLEAR])
def test_anything_unclear_names_nothing(case: str, kind: str, payload: dict[str, Any]) -> None:
    assert pushed_refs(kind, payload) == {}


def test_exactly_max_refs_changes_are_still_read() -> None:
    payload = {"changes": [{"refId": f"refs/heads/b{i}", "toHash": A} for i in range(MAX_REFS)]}
    assert len(pushed_refs("bitbucket", payload)) == MAX_REFS
