"""One tree of errors; its branch decides what the control loop does next.

    GitwardError
     +-- Stalled      needs a human: bad input, forbidden by policy, invalid spec. Not retried until the
     |   |            spec or the source changes.
     |   +-- ValidationError   an Application/Project/Cluster object is invalid
     |   +-- RenderError       manifests could not be produced (bad YAML, tool error, sandbox refusal)
     |   +-- PolicyError       the project forbids what was rendered
     +-- Waiting      a precondition is not met yet (dependency not ready, CRD not established):
     |                retried after ``retry_after`` seconds without counting as a failure.
     +-- Transient    the world misbehaved (network, API 5xx/429, Git server down): retried with
     |   |            exponential backoff.
     |   +-- FetchError        Git or Helm repository unreachable or refused
     |   +-- ClusterError      the Kubernetes API failed or refused a request
     |   +-- ApplyError        some objects failed to apply (the API's message is kept)
     +-- Fenced       with several replicas: this process cannot prove it still owns the app (or
                      holds its Lease), so it wrote nothing; the pass ends without recording (the
                      owner records). Not retried here (docs/architecture.md, "More than one replica").

Messages must never contain Secret values: they are shown in the API, UI, CLI, logs and events.
Credentials in URLs are masked here, once for every error (``core/redact.py``).
"""

from __future__ import annotations

from gitward.core.redact import redact_text
from gitward.core.steps import Step


class GitwardError(Exception):
    """Base of every error gitward raises on purpose; ``reason`` is a CamelCase word for conditions,
    ``step`` the reconcile step that failed (``core/steps.py``; None until a step claims it) and
    ``where`` the wave or hook within it ("wave 2", "hook PreSync Job/db/migrate")."""

    reason = "Error"
    step: Step | None = None
    where: str = ""

    def __init__(
        self, message: str, *, reason: str | None = None, step: Step | None = None, where: str = ""
    ) -> None:
        super().__init__(redact_text(message))
        if reason is not None:
            self.reason = reason
        if step is not None:
            self.step = step
        if where:
            self.where = where

    def at(self, step: Step) -> GitwardError:
        """Name the step this error happened in, unless a narrower one did already."""
        if self.step is None:
            self.step = step
        return self

    @property
    def message(self) -> str:
        return str(self)


class Stalled(GitwardError):
    reason = "Stalled"


class ValidationError(Stalled):
    reason = "ValidationFailed"


class RenderError(Stalled):
    reason = "RenderFailed"


class PolicyError(Stalled):
    reason = "PolicyViolation"
    #: Every broken rule as (rule, object id or "" for the app as a whole, message), redacted like the
    #: message, for callers that show them one by one (``gitward preview``).
    violations: tuple[tuple[str, str, str], ...] = ()


class Waiting(GitwardError):
    reason = "Waiting"

    def __init__(
        self, message: str, *, retry_after: float = 5.0, reason: str | None = None, step: Step | None = None
    ) -> None:
        super().__init__(message, reason=reason, step=step)
        self.retry_after = retry_after


class Transient(GitwardError):
    reason = "TransientError"


class FetchError(Transient):
    reason = "FetchFailed"


class ClusterError(Transient):
    reason = "ClusterUnavailable"

    def __init__(
        self, message: str, *, status: int = 0, reason: str | None = None, step: Step | None = None
    ) -> None:
        super().__init__(message, reason=reason, step=step)
        self.status = status


class ApplyError(Transient):
    reason = "ApplyFailed"


class Fenced(GitwardError):
    """A write refused before it was sent: this replica cannot prove it may write for that app now."""

    reason = "Fenced"
