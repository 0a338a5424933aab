"""gitward.notify: telling people and Git hosts what happened to apps (the ``Notification`` kind).

Why a package of its own, on layer 2 beside ``cluster/``, ``sources/`` and ``render/``: it does
outbound HTTP to hosts the user names (webhooks, Slack, Teams, GitHub, GitLab, Gitea), which is I/O,
so it cannot live in the pure layers; it must not live in ``cluster/``, whose HTTP is the Kubernetes
API and whose client, credentials and rate limits are for clusters; and ``reconcile/`` (layer 4) may
use it without it knowing anything of the control loop: it takes plain statuses and events. The
import contracts in ``pyproject.toml`` keep HTTP clients to ``cluster/`` and ``notify/``, and forbid
``notify/`` the Kubernetes client (lightkube) and httpx: it posts with aiohttp and nothing else.

How it works (docs/reliability.md, "Notifications"): ``Notifier`` is called by the engine where a
status is saved and an event recorded; ``events`` tells what happened; each target has a bounded
queue, a rate limit and one worker that retries with backoff (``delivery``); a message given up
becomes a ``NotificationFailed`` event on the app. Nothing here can block or fail a reconcile.
"""

from gitward.notify.notifier import NOTIFICATION_FAILED, Notifier

__all__ = ["NOTIFICATION_FAILED", "Notifier"]
