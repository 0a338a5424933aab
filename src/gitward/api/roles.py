"""What each role allows, and the one decision every route asks for: ``RoleBook.authorize``.

A role is a set of (resource, action) permissions:

    admin     everything, and the server-wide things only an admin manages (API tokens)
    deployer  get on every resource; sync, refresh, rollback, suspend, terminate on applications
              (not delete: removing an app may delete its objects; admin or a custom Role grants it)
    viewer    get on every resource
    <Role>    the rules of a ``Role`` object (model/access.py), ``*`` expanded

A principal holds grants (role, project or every project). An action on a resource of project P is
allowed when some grant on every project, or on P, has a role that permits it; a server-wide resource
(project None: tokens, metrics) needs a grant on every project. A grant naming a role that is not
defined (a Role removed from the config) permits nothing: unknown means no.

The refusal says who was refused, what was missing and what the caller has, so a user reading a 403
knows which role to ask for, without the server revealing anything else.

Deliberately not here: where grants come from (tokens carry theirs; OIDC users get theirs from
RoleBindings, ``grants_for``) and any I/O: this module is pure and cheap, it runs on every request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gitward.api.identity import Forbidden, Grant, Principal, Resource
from gitward.model.access import ACTIONS, RESOURCES, WILDCARD, Role, RoleBinding

Permission = tuple[str, str]  # (resource kind, action)

#: Server-wide resources only a global admin may act on.
ADMIN_ONLY = ("tokens",)
#: Server-wide reads any global grant that may read applications may make.
SERVER_READS = ("metrics",)

_READ_ALL = frozenset((resource, "get") for resource in RESOURCES)
_APPLICATION_WRITES = frozenset(("applications", a) for a in ACTIONS if a not in ("get", "delete"))
_EVERYTHING = frozenset((r, a) for r in (*RESOURCES, *ADMIN_ONLY) for a in (*ACTIONS, "create", "delete"))

BUILTIN: dict[str, frozenset[Permission]] = {
    "admin": _EVERYTHING,
    "deployer": _READ_ALL | _APPLICATION_WRITES,
    "viewer": _READ_ALL,
}


def role_permissions(role: Role) -> frozenset[Permission]:
    """The rules of a custom role as explicit permissions (``*`` expanded)."""
    out: set[Permission] = set()
    for rule in role.spec.rules:
        resources = RESOURCES if WILDCARD in rule.resources else rule.resources
        actions = ACTIONS if WILDCARD in rule.actions else rule.actions
        out.update((r, a) for r in resources for a in actions)
    return frozenset(out)


def _article(kind: str) -> str:
    return kind[:-1] if kind.endswith("s") else kind


@dataclass(frozen=True)
class RoleBook:
    """Every role by name (built-in and custom) and the RoleBindings of OIDC users and groups."""

    roles: Mapping[str, frozenset[Permission]] = field(default_factory=lambda: dict(BUILTIN))
    bindings: tuple[RoleBinding, ...] = ()

    @classmethod
    def from_config(cls, roles: Iterable[Role], bindings: Iterable[RoleBinding]) -> RoleBook:
        table = dict(BUILTIN)
        table.update((role.name, role_permissions(role)) for role in roles)
        return cls(roles=table, bindings=tuple(bindings))

    def knows(self, role: str) -> bool:
        return role in self.roles

    def permits(self, grant: Grant, resource: Resource, action: str) -> bool:
        """Whether this one grant allows ``action`` on ``resource``."""
        if grant.project is not None and grant.project != resource.project:
            return False
        permissions = self.roles.get(grant.role, frozenset())
        if resource.kind in SERVER_READS:
            return action == "get" and ("applications", "get") in permissions
        return (resource.kind, action) in permissions

    def allows(self, principal: Principal, action: str, resource: Resource) -> bool:
        return any(self.permits(grant, resource, action) for grant in principal.grants)

    def authorize(self, principal: Principal, action: str, resource: Resource) -> None:
        """Return if allowed; else raise ``Forbidden`` naming what is missing."""
        if self.allows(principal, action, resource):
            return
        raise Forbidden(self._refusal(principal, action, resource), action=action, resource=resource)

    def _refusal(self, principal: Principal, action: str, resource: Resource) -> str:
        what = f"{_article(resource.kind)} {resource.name!r}" if resource.name else resource.kind
        if resource.kind in ADMIN_ONLY:
            needed = f"the admin role on every project to {action} {resource.kind}"
        elif resource.project is None:
            needed = f"a role with {action!r} on {resource.kind} on every project"
        else:
            needed = f"a role with {action!r} on {resource.kind} in project {resource.project!r}"
        held = ", ".join(g.describe() for g in principal.grants) or "no role"
        return f"{principal.name} may not {action} {what}: needs {needed} (has {held})"

    def grants_for(self, username: str, groups: Iterable[str]) -> tuple[Grant, ...]:
        """The grants RoleBindings give an OIDC user with these groups, in binding order, unique."""
        member_of = set(groups)
        found: dict[Grant, None] = {}
        for binding in self.bindings:
            spec = binding.spec
            if username in spec.users or member_of.intersection(spec.groups):
                found[Grant(spec.role, spec.project)] = None
        return tuple(found)
