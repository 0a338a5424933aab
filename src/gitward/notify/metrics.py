"""``gitward_notifications_total{target,result}``: what became of each message, per target.

``target`` is ``<Notification name>/<target name>``, both from the config, so the number of series is
bounded by the config. Results: ``sent``; ``retried`` (an attempt that failed and will be tried
again); ``failed`` (given up: the app's events say why); ``dropped`` (the target's queue was full);
``rate_limited`` (over the target's ``rateLimit``); ``skipped`` (nothing to do for this target, such
as a commit status for an app without a commit id).
"""

from __future__ import annotations

from prometheus_client import Counter

RESULTS = ("sent", "retried", "failed", "dropped", "rate_limited", "skipped")

NOTIFICATIONS = Counter(
    "gitward_notifications_total",
    "Notification messages by target (notification/target) and result "
    "(sent, retried, failed, dropped, rate_limited, skipped).",
    ["target", "result"],
)


def count(target: str, result: str) -> None:
    NOTIFICATIONS.labels(target, result).inc()
