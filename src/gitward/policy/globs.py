"""Glob matching for project rules: ``fnmatch`` patterns, with ``!`` patterns that deny.

A value is allowed by a pattern list when some plain pattern matches and no ``!`` pattern does, so a
deny always wins over an allow. Repository URLs are compared in a normal form (lowercase, without a
trailing ``/`` or ``.git``) because the same repository is written many ways.

Deliberately not here: regular expressions (globs are what Argo CD and Flux users write).
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def allowed_by(patterns: Iterable[str], value: str) -> bool:
    allowed = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if fnmatchcase(value, pattern[1:]):
                return False
        elif fnmatchcase(value, pattern):
            allowed = True
    return allowed


def normalize_repo_url(url: str) -> str:
    return url.strip().lower().rstrip("/").removesuffix(".git")


def repo_allowed(patterns: Iterable[str], repo_url: str) -> bool:
    return allowed_by((_normalize_pattern(p) for p in patterns), normalize_repo_url(repo_url))


def _normalize_pattern(pattern: str) -> str:
    deny = pattern.startswith("!")
    body = normalize_repo_url(pattern[1:] if deny else pattern)
    return f"!{body}" if deny else body
