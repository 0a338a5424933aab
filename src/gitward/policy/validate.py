"""All pre-apply checks of one app's render in one call: limits, duplicates, project rules.

This is the "validate" step of docs/architecture.md, one reconcile: the reconcile pipeline calls
``validate_render`` and refuses the whole sync (nothing applied, nothing pruned) when it raises.

Deliberately not here: anything that needs the cluster (dry-run is apply/'s job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.model import Application, Project
from gitward.policy.duplicates import duplicate_keys, duplicate_violations
from gitward.policy.limits import Limits, check_limits
from gitward.policy.project import check_project
from gitward.policy.scope import IsNamespaced, effective_key
from gitward.policy.violations import Violation, raise_for, sorted_violations


def check_render(
    project: Project,
    app: Application,
    manifests: Sequence[Mapping[str, Any]],
    *,
    is_namespaced: IsNamespaced,
    limits: Limits | None = None,
) -> list[Violation]:
    """Every violation, in a fixed order; duplicates are found after namespaces are filled in."""
    violations = check_limits(manifests, limits or Limits())
    namespace = app.spec.destination.namespace
    keys = [effective_key(obj, default_namespace=namespace, is_namespaced=is_namespaced) for obj in manifests]
    violations += duplicate_violations(duplicate_keys(keys))
    violations += check_project(project, app, manifests, is_namespaced=is_namespaced)
    return sorted_violations(violations)


def validate_render(
    project: Project,
    app: Application,
    manifests: Sequence[Mapping[str, Any]],
    *,
    is_namespaced: IsNamespaced,
    limits: Limits | None = None,
) -> None:
    """Raise ``PolicyError`` listing every violation, or return when there is none."""
    violations = check_render(project, app, manifests, is_namespaced=is_namespaced, limits=limits)
    raise_for(violations, app=app.name)
