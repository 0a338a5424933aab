"""Prometheus metrics of the control loop, in the default registry that ``/metrics`` serves.

Two kinds: counters and histograms updated where the work happens (a reconcile, a fetch, a render,
a sync, a wait in the queue), and ``EngineCollector``, which reads numbers the engine keeps anyway
(queue depth, render cache hits and misses, requests sent to each cluster by verb and status code)
when Prometheus scrapes, so those cost nothing between scrapes and can never drift from the source.

Labels hold only values from small fixed sets (results, verbs, status codes, priorities) and cluster
names from the config, never app names or anything from a request, so the number of series is bounded.
A leaf: it imports nothing of the control loop, which it reads through ``Observed``.
Deliberately not here: serving ``/metrics`` (``api/``) and HTTP request counts of the API itself.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gitward.core.changes import Action, ChangeSet

_SHORT = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

RECONCILE_SECONDS = Histogram(
    "gitward_reconcile_duration_seconds",
    "Time of one reconcile pass, by result (synced: applied something; compared: nothing to apply; failed).",
    ["result"],
    buckets=_SHORT,
)
QUEUE_WAIT_SECONDS = Histogram(
    "gitward_queue_wait_seconds",
    "Time an app waited in the work queue before its reconcile started, by priority.",
    ["priority"],
    buckets=_SHORT,
)
RESYNCS_SKIPPED = Counter(
    "gitward_resyncs_skipped_total",
    "Interval passes skipped because neither the app's Git input nor its live objects changed.",
)
SYNCS = Counter("gitward_syncs_total", "Sync operations run, by result (succeeded or failed).", ["result"])
PRUNES = Counter("gitward_prunes_total", "Objects deleted by prune because they left Git.")
DRIFT_EVENTS = Counter(
    "gitward_drift_events_total", "Out-of-band changes to managed objects recorded as Drift events."
)
KUBE_EVENTS = Counter(
    "gitward_kube_events_total",
    "Kubernetes Events about Application objects (run --from-cluster), by result "
    "(created, updated: a repeat counted on the last one, dropped: over the rate or the queue full, failed).",
    ["result"],
)
REPLICA_APPS = Gauge(
    "gitward_replica_apps", "Apps this replica owns now (with several replicas; unset with one)."
)
REPLICA_LEADER = Gauge("gitward_replica_leader", "1 while this replica is the leader (several replicas).")
REPLICA_APPS_TAKEN = Counter(
    "gitward_replica_apps_taken_total", "Apps this replica started owning (at start, or taken over)."
)
REPLICA_WRITES_FENCED = Counter(
    "gitward_replica_writes_fenced_total",
    "Writes refused before they were sent: the replica could not prove it owned the app or held its lease.",
)
REPLICA_TENURES = Counter(
    "gitward_replica_tenures_total",
    "Times this replica (re)gained its lease: 1 at start, one more after each lapse (paused, cut off).",
)
GIT_FETCH_SECONDS = Histogram(
    "gitward_git_fetch_duration_seconds",
    "Time of one Git fetch (coalesced callers share one), by result (ok or error).",
    ["result"],
    buckets=_SHORT,
)
GIT_FETCHES = Counter(
    "gitward_git_fetches",
    "Git fetches run (callers that shared one fetch count once), by result (ok or error).",
    ["result"],
)
RENDER_SECONDS = Histogram(
    "gitward_render_duration_seconds",
    "Time to produce an app's manifests, by cache (hit: from the render cache; miss: rendered).",
    ["cache"],
    buckets=_SHORT,
)


def record_sync(changes: ChangeSet) -> None:
    """One finished sync operation: its result, and the objects its prune deleted."""
    SYNCS.labels("failed" if changes.failed else "succeeded").inc()
    deleted = len(changes.with_action(Action.DELETED))
    if deleted:
        PRUNES.inc(deleted)


def record_git_fetch(ok: bool, seconds: float) -> None:
    """One real Git fetch (``GitCache.on_fetch``): counted once however many callers shared it."""
    result = "ok" if ok else "error"
    GIT_FETCHES.labels(result).inc()
    GIT_FETCH_SECONDS.labels(result).observe(seconds)


def record_failed_sync() -> None:
    """A sync operation that raised before it could report its changes."""
    SYNCS.labels("failed").inc()


# -- numbers read at scrape time ------------------------------------------------------------------


class Observed(Protocol):
    """What the collector reads from an engine (kept structural so this module imports no engine)."""

    def queue_depth(self) -> int: ...

    def render_cache_counts(self) -> tuple[int, int]:
        """(hits, misses) since start."""
        ...

    def cluster_answer_counts(self) -> Mapping[str, Mapping[tuple[str, str], int]]:
        """Per cluster name: requests by (verb, status code)."""
        ...

    def app_counts(self) -> Mapping[tuple[str, str], int]:
        """Apps by (sync status, health status)."""
        ...


class EngineCollector:
    """Sums what every running engine of this process reports (one in production, several in tests)."""

    def __init__(self) -> None:
        self._engines: weakref.WeakSet[Observed] = weakref.WeakSet()
        self._lock = threading.Lock()  # scrapes may run on another thread than the event loop

    def track(self, engine: Observed) -> None:
        with self._lock:
            self._engines.add(engine)

    def untrack(self, engine: Observed) -> None:
        with self._lock:
            self._engines.discard(engine)

    def _snapshot(self) -> list[Observed]:
        with self._lock:
            return list(self._engines)

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._snapshot())

    @staticmethod
    def _families(engines: Iterable[Observed] = ()) -> Iterator[Metric]:
        depth = GaugeMetricFamily("gitward_queue_depth", "Apps waiting in the work queue (not running).")
        hits = CounterMetricFamily("gitward_render_cache_hits", "Renders answered by the render cache.")
        misses = CounterMetricFamily(
            "gitward_render_cache_misses", "Render cache lookups that had to render."
        )
        requests = CounterMetricFamily(
            "gitward_kube_requests",
            "Requests sent to Kubernetes API servers, by cluster, verb and status code "
            '("error" when no answer came).',
            labels=["cluster", "verb", "code"],
        )
        apps = GaugeMetricFamily(
            "gitward_apps",
            "Applications by sync status (Synced, OutOfSync, Unknown) and health status "
            "(with several replicas: the ones this replica owns).",
            labels=["sync", "health"],
        )
        total_depth = total_hits = total_misses = 0
        answers: dict[tuple[str, str, str], int] = {}
        states: dict[tuple[str, str], int] = {}
        for engine in engines:
            for state, n in engine.app_counts().items():
                states[state] = states.get(state, 0) + n
            total_depth += engine.queue_depth()
            h, m = engine.render_cache_counts()
            total_hits += h
            total_misses += m
            for cluster, counts in engine.cluster_answer_counts().items():
                for (verb, code), n in counts.items():
                    answers[(cluster, verb, code)] = answers.get((cluster, verb, code), 0) + n
        depth.add_metric([], total_depth)
        hits.add_metric([], total_hits)
        misses.add_metric([], total_misses)
        for labels, n in sorted(answers.items()):
            requests.add_metric(list(labels), n)
        for state, n in sorted(states.items()):
            apps.add_metric(list(state), n)
        yield from (depth, hits, misses, requests, apps)


ENGINES = EngineCollector()
REGISTRY.register(ENGINES)
