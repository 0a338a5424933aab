"""The build environment: the variables a render may name in Jsonnet values and plugin settings.

Argo CD calls these the "build environment" and substitutes them into Jsonnet ext vars and top-level
arguments and into a config-management plugin's ``env`` values; its plugins also see them as
environment variables. gitward provides the same names (``BUILD_VARIABLES``) with the same meaning:
the app's name, destination namespace, project, source path, repository URL and asked revision, the
commit and its short forms, and the destination cluster's Kubernetes version and API versions.

Substitution reads ``$NAME`` and ``${NAME}``; ``$$`` is a literal ``$``, and a ``$`` followed by
anything else (Jsonnet's ``$.field``) stays as written. Argo CD turns a name it does not know into
an empty string; gitward refuses it when the config is loaded (``unknown_references``) instead, so
a typo is an error the user sees, not a value silently emptied.

Deliberately not here: where the values come from (reconcile builds them, render adds the cluster's
versions), and which fields are substituted (``model`` and ``render``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

#: The commit and its short forms: a render naming them depends on the commit, not only on files.
REVISION_VARIABLES: Final = (
    "ARGOCD_APP_REVISION",
    "ARGOCD_APP_REVISION_SHORT",
    "ARGOCD_APP_REVISION_SHORT_8",
)
#: The destination cluster's versions, known at render time only.
CLUSTER_VARIABLES: Final = ("KUBE_VERSION", "KUBE_API_VERSIONS")
BUILD_VARIABLES: Final = (
    "ARGOCD_APP_NAME",
    "ARGOCD_APP_NAMESPACE",
    "ARGOCD_APP_PROJECT_NAME",
    *REVISION_VARIABLES,
    "ARGOCD_APP_SOURCE_PATH",
    "ARGOCD_APP_SOURCE_REPO_URL",
    "ARGOCD_APP_SOURCE_TARGET_REVISION",
    *CLUSTER_VARIABLES,
)

# $$, ${...} (anything up to the brace, checked after), $NAME, or $ followed by a shell special
# character (read as a reference, as Go's os.Expand does, so it can be refused)
_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([*#@!?0-9-]))")
_UNTERMINATED = re.compile(r"\$\{[^}]*$")


def references(value: str) -> list[str]:
    """The variable names ``value`` refers to, in order (``$$`` is not a reference)."""
    found = []
    for match in _REFERENCE.finditer(value):
        if match.group(1) is None:
            found.append(match.group(2) if match.group(2) is not None else match.group(3) or match.group(4))
    return found


def unknown_references(value: str) -> list[str]:
    """References in ``value`` to names that are not build variables, spelled as written; an
    unterminated ``${`` counts as one."""
    unknown = [f"${{{name}}}" for name in references(value) if name not in BUILD_VARIABLES]
    if _UNTERMINATED.search(value):
        unknown.append("${ (unterminated)")
    return unknown


def names_revision(value: str) -> bool:
    """Whether ``value`` refers to the commit (``ARGOCD_APP_REVISION`` or a short form)."""
    return any(name in REVISION_VARIABLES for name in references(value))


def expand(value: str, variables: Mapping[str, str]) -> str:
    """``value`` with every reference replaced by its variable's value (missing ones: empty)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "$"
        name = match.group(2) if match.group(2) is not None else match.group(3) or match.group(4)
        return variables.get(name, "")

    return _REFERENCE.sub(replace, value)
