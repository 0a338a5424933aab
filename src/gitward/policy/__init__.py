"""gitward.policy: checks run on a render before anything is applied (pure, no I/O).

Project rules (source repos, destinations, kinds), duplicate objects and size limits. Each check
returns ``Violation`` values; ``policy_error`` / ``validate_render`` turn them into one ``PolicyError``.
"""

from gitward.policy.duplicates import duplicate_keys, duplicate_violations, find_duplicates
from gitward.policy.globs import allowed_by, normalize_repo_url, repo_allowed
from gitward.policy.limits import Limits, canonical_size, check_limits
from gitward.policy.project import (
    check_app,
    check_object,
    check_project,
    cluster_allowed,
    destination_allowed,
    kind_allowed,
)
from gitward.policy.scope import IsNamespaced, effective_key, is_object_namespaced
from gitward.policy.validate import check_render, validate_render
from gitward.policy.violations import Violation, policy_error, raise_for, sorted_violations

__all__ = [
    "IsNamespaced",
    "Limits",
    "Violation",
    "allowed_by",
    "canonical_size",
    "check_app",
    "check_limits",
    "check_object",
    "check_project",
    "check_render",
    "cluster_allowed",
    "destination_allowed",
    "duplicate_keys",
    "duplicate_violations",
    "effective_key",
    "find_duplicates",
    "is_object_namespaced",
    "kind_allowed",
    "normalize_repo_url",
    "policy_error",
    "raise_for",
    "repo_allowed",
    "sorted_violations",
    "validate_render",
]
