"""What a reconcile leaves behind besides the cluster: events and saved statuses.

An event goes to the store (the app's event list), to the notifier (Notification objects) and, for
drift, to its counter. A status is written only when it changed, so a no-op pass writes nothing, not
even locally; a saved change goes to the read side (index row, live feed) and to the notifier.
With several replicas, only the app's owner records anything of it (``owns``): another replica's
view of the app (a cluster outage it also sees, a config it also reads) is left to the owner.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

import orjson

from gitward.core.clock import Clock
from gitward.notify import Notifier
from gitward.reconcile import metrics
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.views import Views
from gitward.store import Store

log = logging.getLogger("gitward.engine")


class Records:
    def __init__(self, *, store: Store, notifier: Notifier, views: Views, clock: Clock) -> None:
        self._store = store
        self._notifier = notifier
        self._views = views
        self._clock = clock
        # Told of every saved status (the status writer of ``run --from-cluster``); must not block.
        self.status_listeners: list[Callable[[AppRuntime], None]] = []
        # Told of every event as (app, type=, reason=, message=) (the event writer); must not block.
        self.event_listeners: list[Callable[..., None]] = []
        # Whether this process records for ``app`` (several replicas: it owns it; else always).
        self.owns: Callable[[str], bool] = lambda _app: True

    def record_event(
        self,
        app: str,
        *,
        type: str,
        reason: str,
        message: str,
        object_id: str = "",
        fields: Sequence[str] = (),
        manager: str = "",
    ) -> None:
        if not self.owns(app):
            return
        if reason == "Drift":
            metrics.DRIFT_EVENTS.inc()
        self._notifier.event_recorded(app, reason=reason, message=message)
        self._store.add_event(
            app,
            type=type,
            reason=reason,
            message=message,
            object_id=object_id,
            fields=tuple(fields),
            manager=manager,
            time=self._clock.now(),
        )
        for listener in self.event_listeners:
            try:
                listener(app, type=type, reason=reason, message=message)
            except Exception:
                log.exception("event listener failed for %s", app)

    def save_status(self, rt: AppRuntime) -> None:
        """Write ``rt``'s status when it changed since it was last written. The digest is taken of the
        typed status itself (orjson reads dataclasses natively), so an unchanged status costs no
        document; the stored JSON document is built only when there is something to write."""
        if not self.owns(rt.name):
            return
        digest = hashlib.sha256(orjson.dumps(rt.status, option=orjson.OPT_SORT_KEYS)).hexdigest()
        if digest != rt.saved_status_digest:
            document = rt.status.to_dict()
            self._store.save_status(rt.name, document)
            rt.saved_status_digest = digest
            self._views.status_saved(rt)  # the app index and the live stream
            self._notifier.status_saved(rt.app, document)  # Notification objects (notify/)
            for listener in self.status_listeners:
                try:
                    listener(rt)
                except Exception:
                    log.exception("status listener failed for %s", rt.name)
