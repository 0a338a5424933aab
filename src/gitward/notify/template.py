"""Message text: a Notification's template filled from a fixed set of strings.

The template was checked when the config was loaded (``model/notification.py``: known names only,
no attribute access, no indexing, no conversions, only a precision as format spec), and every value
here is a plain ``str``, so ``str.format_map`` can do nothing but copy and truncate strings. The
result is capped anyway, because a chat message or a commit status description has a size limit.

Deliberately not here: which fields a target sends (``chat``, ``commitstatus``).
"""

from __future__ import annotations

from gitward.core.redact import redact_url
from gitward.notify.events import AppEvent

MAX_TEXT = 4000

TITLES = {
    "SyncSucceeded": "synced",
    "SyncFailed": "sync failed",
    "HealthDegraded": "health degraded",
    "DriftHealed": "drift healed",
    "OutOfSync": "out of sync",
}


def short_commit(commit: str) -> str:
    return commit[:12]


def summary(event: AppEvent) -> str:
    """The default message: ``podinfo: sync failed at 3f1c2ab4d5e6: <why>``."""
    text = f"{event.app}: {TITLES.get(event.trigger, event.trigger)}"
    if event.commit:
        text += f" at {short_commit(event.commit)}"
    return f"{text}: {event.message}" if event.message else text


def variables(event: AppEvent, *, notification: str) -> dict[str, str]:
    """The values of ``model.notification.TEMPLATE_FIELDS``; a test keeps the two sets equal."""
    return {
        "app": event.app,
        "project": event.project,
        "cluster": event.cluster,
        "namespace": event.namespace,
        "repoURL": redact_url(event.repo_url),
        "revision": event.revision,
        "commit": event.commit,
        "shortCommit": short_commit(event.commit),
        "trigger": event.trigger,
        "title": TITLES.get(event.trigger, event.trigger),
        "message": event.message,
        "summary": summary(event),
        "sync": event.sync,
        "health": event.health,
        "phase": event.phase,
        "initiator": event.initiator,
        "notification": notification,
    }


def render(template: str, values: dict[str, str], *, limit: int = MAX_TEXT) -> str:
    text = template.format_map(values)
    return text if len(text) <= limit else text[: limit - 1] + "…"
