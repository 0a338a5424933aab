"""The ``Notification`` object: which app changes to tell whom, and how each target is reached.

A Notification names its ``triggers`` (what happened to an app), filters the apps by name and by
Project with the globs of project rules (``policy/globs.py``: ``!pattern`` denies), and lists
``targets``: a signed JSON webhook, a Slack-compatible or Microsoft Teams incoming webhook, or a
commit status on GitHub, GitLab or Gitea. Every secret (the webhook's HMAC secret, a chat webhook's
URL, an API token) is read when a message is sent, so the config can be committed and a rotated
secret takes effect without a restart: from a file the config names (``secretFile``, ``urlFile``,
``tokenFile``) or, with ``run --from-cluster``, from a Secret in the Notification's namespace that
the target's ``secretRef`` names (keys ``SECRET_KEYS``); ``model/secretrefs.py`` refuses each where
the other belongs.

Messages are made from a template over a fixed set of names (``TEMPLATE_FIELDS``): ``{app}``,
``{commit:.7}`` and the like, checked here when the config is loaded. No attribute access, no
indexing, no conversions, no widths: a template cannot reach anything but those strings, and its
output cannot grow without bound. Every field that loads is acted on (docs/architecture.md, "Layers:
folders are the architecture"); what could not be is refused here, naming the field.

Deliberately not here: reading the files and Secrets, matching, rendering and sending (``notify/``).
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from gitward.model.common import Duration, FilePath, SpecModel, TopLevelObject, check_no_credentials
from gitward.model.repository import LocalSecretRef

Trigger = Literal["SyncSucceeded", "SyncFailed", "HealthDegraded", "DriftHealed", "OutOfSync"]

#: The names a template may use, each a plain string (``notify/template.py`` fills them).
TEMPLATE_FIELDS: frozenset[str] = frozenset(
    {
        "app",
        "project",
        "cluster",
        "namespace",
        "repoURL",
        "revision",
        "commit",
        "shortCommit",
        "trigger",
        "title",
        "message",
        "summary",
        "sync",
        "health",
        "phase",
        "initiator",
        "notification",
    }
)
DEFAULT_TEMPLATE = "{summary}"
MAX_TEMPLATE_CHARS = 2000
_SPEC = re.compile(r"^(\.\d{1,4})?$")  # "" or a precision, which truncates a string: {commit:.7}


def check_template(value: str) -> str:
    """Refuse anything but ``{name}`` and ``{name:.N}`` over ``TEMPLATE_FIELDS``; the message says
    which part, never evaluates it."""
    if len(value) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"template is longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(f"template cannot be read: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            known = ", ".join(sorted(TEMPLATE_FIELDS))
            raise ValueError(f"template field {{{field}}} is not known (known: {known})")
        if conversion is not None:
            raise ValueError(f"template field {{{field}!{conversion}}}: conversions are not supported")
        if not _SPEC.match(spec or ""):
            raise ValueError(f"template field {{{field}:{spec}}}: only a precision such as :.7 is supported")
    return value


Template = Annotated[str, Field(min_length=1), AfterValidator(check_template)]


def _http_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return check_no_credentials(value, what="URL")


HttpURL = Annotated[str, Field(min_length=1), AfterValidator(_http_url)]


class RetryBackoff(SpecModel):
    duration: Duration = 1.0
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    max_duration: Duration = 30.0


class DeliveryRetry(SpecModel):
    """Retries after the first attempt, for answers worth retrying (no answer, 408, 429, 5xx)."""

    limit: int = Field(default=3, ge=0, le=20)
    backoff: RetryBackoff = RetryBackoff()


class RateLimit(SpecModel):
    """At most ``count`` messages per ``per`` to one target; more are dropped and counted."""

    count: int = Field(default=30, ge=1, le=100_000)
    per: Duration = 60.0


#: The keys of a target's Secret (``secretRef``): the webhook's HMAC secret (and its URL when ``url``
#: is not written), a chat webhook's URL, a commit status API token.
SECRET_KEYS = {"secret_file": "secret", "url_file": "url", "token_file": "token"}
_FILE_FIELDS = {"secret_file": "secretFile", "url_file": "urlFile", "token_file": "tokenFile"}


class TargetBase(SpecModel):
    name: str = Field(default="", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^$", max_length=63)
    retry: DeliveryRetry = DeliveryRetry()
    rate_limit: RateLimit = RateLimit()
    queue_size: int = Field(default=100, ge=1, le=10_000)  # messages waiting per target; more are dropped
    timeout: Duration = 10.0  # per request
    secret_ref: LocalSecretRef | None = None  # the target's secrets are this Secret's keys (SECRET_KEYS)

    def file_fields(self) -> list[str]:
        """The fields set here that name files, as written in the config."""
        return [written for field, written in _FILE_FIELDS.items() if getattr(self, field, None)]

    @model_validator(mode="after")
    def _secret_ref_alone(self) -> Self:
        if self.secret_ref is not None and self.file_fields():
            raise ValueError(
                f"secretRef and {', '.join(self.file_fields())} exclude each other: the target's "
                "secrets come either from the Secret or from files"
            )
        return self

    def _one_of(self, field: str) -> None:
        """``field`` (a file) or ``secretRef`` (its key in the Secret), exactly one."""
        if (getattr(self, field) is None) == (self.secret_ref is None):
            raise ValueError(
                f"give exactly one of {_FILE_FIELDS[field]} (a config file) and secretRef (a Secret with "
                f"the key {SECRET_KEYS[field]!r}, with gitward run --from-cluster)"
            )


class WebhookTarget(TargetBase):
    """JSON POSTed with ``X-Gitward-Signature: sha256=<HMAC-SHA256 of the body>`` (README)."""

    type: Literal["webhook"]
    url: HttpURL | None = None
    url_file: FilePath | None = None  # when the URL itself is a secret
    secret_file: FilePath | None = None

    @model_validator(mode="after")
    def _sources(self) -> Self:
        if self.secret_ref is None and (self.url is None) == (self.url_file is None):
            raise ValueError("give exactly one of url and urlFile")
        self._one_of("secret_file")
        return self


class SlackTarget(TargetBase):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): the URL is the secret."""

    type: Literal["slack"]
    url_file: FilePath | None = None

    @model_validator(mode="after")
    def _sources(self) -> Self:
        self._one_of("url_file")
        return self


class TeamsTarget(TargetBase):
    """A Microsoft Teams incoming webhook: an Adaptive Card (Workflows webhooks) or a MessageCard
    (Office 365 connectors)."""

    type: Literal["teams"]
    url_file: FilePath | None = None
    format: Literal["adaptiveCard", "messageCard"] = "adaptiveCard"

    @model_validator(mode="after")
    def _sources(self) -> Self:
        self._one_of("url_file")
        return self


class CommitStatusTarget(TargetBase):
    """A commit status on the app's repository (``repository`` overrides the one read from the
    app's repoURL); ``context`` is a template, so one status per app is kept apart."""

    token_file: FilePath | None = None
    base_url: HttpURL | None = Field(default=None, alias="baseURL")
    repository: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_.\-/]+$")
    context: Template = "gitward/{app}"

    @model_validator(mode="after")
    def _sources(self) -> Self:
        self._one_of("token_file")
        return self


class GitHubTarget(CommitStatusTarget):
    type: Literal["github"]


class GitLabTarget(CommitStatusTarget):
    type: Literal["gitlab"]


class GiteaTarget(CommitStatusTarget):
    type: Literal["gitea"]

    @model_validator(mode="after")
    def _base_url_required(self) -> Self:
        if self.base_url is None:
            raise ValueError("a gitea target needs baseURL (the server's address)")
        return self


Target = Annotated[
    WebhookTarget | SlackTarget | TeamsTarget | GitHubTarget | GitLabTarget | GiteaTarget,
    Field(discriminator="type"),
]


class NotificationSpec(SpecModel):
    triggers: tuple[Trigger, ...] = Field(min_length=1)
    out_of_sync_after: Duration | None = None  # the OutOfSync trigger: continuously OutOfSync this long
    applications: tuple[str, ...] = ("*",)
    projects: tuple[str, ...] = ("*",)
    template: Template = DEFAULT_TEMPLATE
    link: Template | None = None  # a URL to the app, for commit statuses and chat messages
    targets: tuple[Target, ...] = Field(min_length=1)

    @field_validator("triggers")
    @classmethod
    def _unique_triggers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a trigger is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        wants_timer = "OutOfSync" in self.triggers
        if wants_timer and self.out_of_sync_after is None:
            raise ValueError("the OutOfSync trigger needs outOfSyncAfter (for example 15m)")
        if not wants_timer and self.out_of_sync_after is not None:
            raise ValueError("outOfSyncAfter is set but OutOfSync is not among the triggers")
        names = self.target_names()
        if len(set(names)) != len(names):
            raise ValueError(f"target names must be unique: {', '.join(names)}")
        return self

    def target_names(self) -> list[str]:
        """Each target's name: its own, else its type (with its position when the type repeats)."""
        types = [t.type for t in self.targets]
        return [
            t.name or (t.type if types.count(t.type) == 1 else f"{t.type}-{i}")
            for i, t in enumerate(self.targets)
        ]


class Notification(TopLevelObject):
    kind: Literal["Notification"] = "Notification"
    spec: NotificationSpec
