"""Who may do what through the API: custom ``Role``s, ``RoleBinding``s and ``OIDCProvider``s.

The built-in roles (``admin``, ``deployer``, ``viewer``) need no object; a ``Role`` adds a custom role
as rules of allowed actions on resources (applications, projects, clusters, repositories). A
``RoleBinding`` grants one role to OIDC users and groups, on every project or on one (a Project's
roles, the README). API tokens carry their role and project themselves (``gitward token
create``), so they need no binding. An ``OIDCProvider`` names an issuer whose ID tokens the API accepts
and which ``gitward login`` signs in through; its client secret (the web login's confidential client)
is never inline: a file (``clientSecretFile``) in a config file, a Secret in the provider's namespace
(``secretRef``, key ``clientSecret``) with ``run --from-cluster`` (``model/secretrefs.py`` refuses each
where the other belongs).

The vocabulary (``RESOURCES``, ``ACTIONS``) is defined here because a Role is validated against it
when the config loads: a typo in a rule is an error on the Role, not a permission silently missing.

Deliberately not here: deciding a request (``api/roles.py``) and talking to the issuer (``api/oidc.py``).
"""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from gitward.model.common import FilePath, Name, SpecModel, TopLevelObject, check_no_credentials
from gitward.model.repository import LocalSecretRef

RESOURCES = ("applications", "projects", "clusters", "repositories")
#: ``get`` is every read (list, get, diff, history, events); the others are writes on applications.
#: ``delete`` (removing an app the config no longer declares) is granted by admin and custom Roles only.
ACTIONS = ("get", "sync", "refresh", "rollback", "suspend", "terminate", "delete")
BUILTIN_ROLES = ("admin", "deployer", "viewer")
WILDCARD = "*"


def _known(values: tuple[str, ...], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = sorted(set(values) - {*allowed, WILDCARD})
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))} (known: {', '.join(allowed)}, *)")
    return values


class RoleRule(SpecModel):
    """Allows ``actions`` on ``resources``; ``*`` stands for all of either."""

    resources: tuple[str, ...] = Field(min_length=1)
    actions: tuple[str, ...] = Field(min_length=1)

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, RESOURCES, "resource")

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _known(value, ACTIONS, "action")


class RoleSpec(SpecModel):
    description: str = ""
    rules: tuple[RoleRule, ...] = Field(min_length=1)


class Role(TopLevelObject):
    kind: Literal["Role"] = "Role"
    spec: RoleSpec

    @model_validator(mode="after")
    def _not_builtin(self) -> Role:
        if self.name in BUILTIN_ROLES:
            raise ValueError(f"role {self.name!r} is built in and cannot be redefined")
        return self


class RoleBindingSpec(SpecModel):
    role: Name
    project: Name | None = None  # None: every project
    users: tuple[str, ...] = ()  # values of the provider's username claim
    groups: tuple[str, ...] = ()  # values of the provider's groups claim

    @model_validator(mode="after")
    def _someone(self) -> RoleBindingSpec:
        if not self.users and not self.groups:
            raise ValueError("a RoleBinding needs at least one entry in users or groups")
        return self


class RoleBinding(TopLevelObject):
    kind: Literal["RoleBinding"] = "RoleBinding"
    spec: RoleBindingSpec


DEFAULT_SCOPES = ("openid", "email", "profile", "groups", "offline_access")
#: The key of an OIDCProvider's Secret (``secretRef``) that holds the client secret.
CLIENT_SECRET_KEY = "clientSecret"  # noqa: S105 (a key name, not a secret)


class OIDCProviderSpec(SpecModel):
    issuer: str = Field(min_length=1)
    # Written clientID / cliClientID, as every OIDC provider's documentation spells them.
    client_id: str = Field(min_length=1, alias="clientID")
    client_secret_file: FilePath | None = None  # confidential client of the web login, if any
    secret_ref: LocalSecretRef | None = None  # or: the Secret holding it under CLIENT_SECRET_KEY
    cli_client_id: str | None = Field(None, min_length=1, alias="cliClientID")  # public client of the CLI
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    username_claim: str = "email"
    groups_claim: str = "groups"

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        check_no_credentials(value, what="issuer")
        host = urlsplit(value).hostname or ""
        loopback = host in ("localhost", "127.0.0.1", "::1")
        if not (value.startswith("https://") or (value.startswith("http://") and loopback)):
            raise ValueError("issuer must be an https:// URL (http:// only for a provider on loopback)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_source_of_the_secret(self) -> Self:
        if self.secret_ref is not None and self.client_secret_file is not None:
            raise ValueError(
                "secretRef and clientSecretFile exclude each other: the client secret comes either "
                "from the Secret or from the file"
            )
        return self

    @property
    def audiences(self) -> tuple[str, ...]:
        """The ``aud`` values an ID token may carry: the web client's and the CLI's."""
        return tuple(dict.fromkeys((self.client_id, self.cli_client_id or self.client_id)))


class OIDCProvider(TopLevelObject):
    kind: Literal["OIDCProvider"] = "OIDCProvider"
    spec: OIDCProviderSpec
