"""Project rules: may this app, with these rendered objects, deploy where it wants to?

Checked: the source repository against ``sourceRepos``; the app's destination and every namespaced
object's namespace against ``destinations``; Namespace objects against ``destinations`` too (creating
or changing a namespace outside the project is deploying outside it); each kind against the
cluster-scoped or namespaced white- and blacklists; child gitward Applications (app-of-apps) must stay
in the parent's project unless that project allows everything, so a tenant cannot escape its project
by rendering an Application in another one. Everything is checked and every violation returned; the
caller refuses the whole sync on any (docs/reliability.md, bad input 9).

Deliberately not here: duplicates and size limits (their own modules), roles and signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.model import Application, GroupKind, Project, ProjectSpec, is_gitward_application
from gitward.policy.globs import allowed_by, repo_allowed
from gitward.policy.scope import IsNamespaced, effective_key, is_object_namespaced
from gitward.policy.violations import (
    RULE_CHILD_PROJECT,
    RULE_CLUSTER_KIND,
    RULE_DESTINATION,
    RULE_NAMESPACE,
    RULE_NAMESPACED_KIND,
    RULE_SOURCE_REPO,
    Violation,
    sorted_violations,
)


def check_project(
    project: Project,
    app: Application,
    manifests: Iterable[Mapping[str, Any]],
    *,
    is_namespaced: IsNamespaced,
) -> list[Violation]:
    """Every violation of ``project`` by ``app`` and its rendered ``manifests``, in a fixed order."""
    violations = check_app(project, app)
    for obj in manifests:
        violations.extend(check_object(project, app, obj, is_namespaced=is_namespaced))
    return sorted_violations(violations)


def check_app(project: Project, app: Application) -> list[Violation]:
    """The rules that need no rendered object: source repository and destination."""
    out: list[Violation] = []
    for source in app.spec.all_sources:
        if not repo_allowed(project.spec.source_repos, source.repo_url):
            out.append(
                Violation(None, RULE_SOURCE_REPO, f"source repository {source.repo_url} is not permitted "
                          f"in project {project.name!r}")
            )  # fmt: skip
    destination = app.spec.destination
    if not cluster_allowed(project, destination.cluster):
        out.append(
            Violation(None, RULE_DESTINATION, f"cluster {destination.cluster!r} is not a permitted "
                      f"destination in project {project.name!r}")
        )  # fmt: skip
    elif destination.namespace and not destination_allowed(
        project, destination.cluster, destination.namespace
    ):
        out.append(
            Violation(None, RULE_DESTINATION, f"namespace {destination.namespace!r} on cluster "
                      f"{destination.cluster!r} is not a permitted destination in project {project.name!r}")
        )  # fmt: skip
    return out


def check_object(
    project: Project, app: Application, obj: Mapping[str, Any], *, is_namespaced: IsNamespaced
) -> list[Violation]:
    cluster = app.spec.destination.cluster
    key = effective_key(obj, default_namespace=app.spec.destination.namespace, is_namespaced=is_namespaced)
    out: list[Violation] = []
    if is_object_namespaced(obj, is_namespaced):
        if not key.namespace:
            out.append(
                Violation(key, RULE_NAMESPACE, "namespaced object has no namespace and the application's "
                          "destination names none")
            )  # fmt: skip
        elif not destination_allowed(project, cluster, key.namespace):
            out.append(_outside(project, cluster, key.namespace, key))
        if not kind_allowed(key, project.spec.namespace_resource_whitelist,
                            project.spec.namespace_resource_blacklist):  # fmt: skip
            out.append(_kind_denied(project, key, RULE_NAMESPACED_KIND, "namespaced"))
    else:
        if not kind_allowed(key, project.spec.cluster_resource_whitelist,
                            project.spec.cluster_resource_blacklist):  # fmt: skip
            out.append(_kind_denied(project, key, RULE_CLUSTER_KIND, "cluster-scoped"))
        if (
            key.group == ""
            and key.kind == "Namespace"
            and not destination_allowed(project, cluster, key.name)
        ):
            out.append(_outside(project, cluster, key.name, key))
    if is_gitward_application(obj):
        out.extend(_check_child(project, app, obj, key))
    return out


def cluster_allowed(project: Project, cluster: str) -> bool:
    """Some destination allows the cluster for at least one namespace, and no deny covers all of it."""
    entries = project.spec.destinations
    denied = any(
        d.cluster.startswith("!") and d.namespace.lstrip("!") == "*" and fnmatchcase(cluster, d.cluster[1:])
        for d in entries
    )
    allowed = any(_is_allow(d.cluster, d.namespace) and fnmatchcase(cluster, d.cluster) for d in entries)
    return allowed and not denied


def destination_allowed(project: Project, cluster: str, namespace: str) -> bool:
    """An allow entry matches both cluster and namespace and no deny entry does.

    An entry is a deny when either field starts with ``!``; it denies the pairs matching both fields
    with the ``!`` removed (``{cluster: "*", namespace: "!kube-system"}`` denies kube-system anywhere).
    """
    allowed = False
    for dest in project.spec.destinations:
        matches = fnmatchcase(cluster, dest.cluster.lstrip("!")) and fnmatchcase(
            namespace, dest.namespace.lstrip("!")
        )
        if not matches:
            continue
        if not _is_allow(dest.cluster, dest.namespace):
            return False
        allowed = True
    return allowed


def kind_allowed(
    key: ResourceKey, whitelist: tuple[GroupKind, ...] | None, blacklist: tuple[GroupKind, ...]
) -> bool:
    """Omitted whitelist: every kind; explicit empty whitelist: none. The blacklist applies after."""
    if whitelist is not None and not any(_kind_matches(gk, key) for gk in whitelist):
        return False
    return not any(_kind_matches(gk, key) for gk in blacklist)


def _kind_matches(pattern: GroupKind, key: ResourceKey) -> bool:
    return allowed_by([pattern.group], key.group) and allowed_by([pattern.kind], key.kind)


def _is_allow(cluster: str, namespace: str) -> bool:
    return not cluster.startswith("!") and not namespace.startswith("!")


def _outside(project: Project, cluster: str, namespace: str, key: ResourceKey) -> Violation:
    return Violation(
        key, RULE_DESTINATION, f"namespace {namespace!r} on cluster {cluster!r} is not a permitted "
        f"destination in project {project.name!r}"
    )  # fmt: skip


def _kind_denied(project: Project, key: ResourceKey, rule: str, scope: str) -> Violation:
    group_kind = f"{key.group}/{key.kind}" if key.group else key.kind
    return Violation(key, rule, f"{scope} kind {group_kind} is not permitted in project {project.name!r}")


def _check_child(
    project: Project, app: Application, obj: Mapping[str, Any], key: ResourceKey
) -> list[Violation]:
    spec = obj.get("spec")
    child_project = (spec.get("project") if isinstance(spec, Mapping) else None) or "default"
    if child_project == app.spec.project or project.spec == ProjectSpec():
        return []
    return [
        Violation(key, RULE_CHILD_PROJECT, f"child Application names project {child_project!r}; an "
                  f"application in project {project.name!r} may only create applications in its own project")
    ]  # fmt: skip
