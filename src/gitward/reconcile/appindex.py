"""A precomputed, sortable index of every app, so one page of a 10,000-app list costs milliseconds.

Why: the web UI and ``GET /api/v1/apps?limit=`` show one page of apps at a time, filtered and
sorted. Building every app's summary per request (what ``list_apps`` does) costs tens of
milliseconds at 10,000 apps and sends megabytes; Argo CD's UI is slow at that size for exactly that
reason. Here each app is one small ``IndexRow``, kept current by the read side when a status is
saved (``views.Views.status_saved``), with:

- postings: for each filterable field (project, cluster, namespace, sync, health, label) the set of
  app names per value, so an equality filter is a set lookup and several are a set intersection;
- one sorted order of names per sort key, rebuilt only when a row changed a field that key reads
  (names only change on add/remove, so the default order survives every status change).

A query intersects postings (smallest first), scans names only for the search box, counts each
sync and health value with set intersections, and walks the sorted order once to cut the page.

Deliberately not here: who may see which project (the caller passes ``projects``; ``api/`` decides)
and the full app summary (``appview.summary_of``; a page shows rows, the app page the summary).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

SORT_KEYS = ("name", "project", "cluster", "namespace", "sync", "health", "updated")
FILTERS = ("project", "cluster", "namespace", "sync", "health")
SYNC_VALUES = ("Synced", "OutOfSync", "Unknown")
HEALTH_VALUES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
MAX_LIMIT = 500
FACET_LIMIT = 200  # values offered per filter menu: 10,000 namespaces would outweigh the page


@dataclass(frozen=True)
class IndexRow:
    """What one line of the application list shows (and filters and sorts on)."""

    name: str
    project: str
    cluster: str
    namespace: str
    sync: str
    health: str
    health_message: str
    revision: str
    repo: str
    path: str
    suspended: bool
    phase: str  # of the last operation, "" when none
    updated: float  # when the last operation finished (or started), 0 when none
    message: str
    labels: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["labels"] = dict(self.labels)
        return out


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def row_of(summary: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> IndexRow:
    """The row of an app summary (``appview.summary_of``'s shape)."""
    destination = summary.get("destination") or {}
    sync = summary.get("sync") or {}
    health = summary.get("health") or {}
    operation = summary.get("running") or summary.get("operation") or {}
    return IndexRow(
        name=str(summary.get("name", "")),
        project=str(summary.get("project") or ""),
        cluster=str(destination.get("cluster") or ""),
        namespace=str(destination.get("namespace") or ""),
        sync=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        health_message=str(health.get("message") or ""),
        revision=str(sync.get("revision") or summary.get("revision") or ""),
        repo=str(summary.get("repoURL") or ""),
        path=str(summary.get("path") or ""),
        suspended=bool(summary.get("suspended")),
        phase=str(operation.get("phase") or ""),
        updated=_float(operation.get("finishedAt")) or _float(operation.get("startedAt")),
        message=str(summary.get("message") or ""),
        labels=tuple(sorted((labels or summary.get("labels") or {}).items())),
    )


@dataclass(frozen=True)
class AppQuery:
    """One page request. Empty strings mean "any"; ``label`` is ``key`` or ``key=value``;
    ``projects`` (None: every project) limits the apps to those the caller may read."""

    search: str = ""
    project: str = ""
    cluster: str = ""
    namespace: str = ""
    sync: str = ""
    health: str = ""
    label: str = ""
    sort: str = "name"
    descending: bool = False
    offset: int = 0
    limit: int = 50
    projects: frozenset[str] | None = None


@dataclass(frozen=True)
class AppPage:
    total: int  # apps matching every filter
    offset: int
    limit: int
    rows: list[IndexRow]
    sync_counts: dict[str, int]  # per sync status, among the apps matching every filter but sync/health
    health_counts: dict[str, int]
    facets: dict[str, list[str]]  # values present per filter field (for the filter menus)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "items": [row.to_dict() for row in self.rows],
            "counts": {"sync": self.sync_counts, "health": self.health_counts},
            "facets": self.facets,
        }


_SORT_VALUE: dict[str, Callable[[IndexRow], Any]] = {
    "name": lambda r: r.name,
    "project": lambda r: (r.project, r.name),
    "cluster": lambda r: (r.cluster, r.name),
    "namespace": lambda r: (r.namespace, r.name),
    "sync": lambda r: (r.sync, r.name),
    "health": lambda r: (r.health, r.name),
    "updated": lambda r: (r.updated, r.name),
}


class AppIndex:
    """Rows by name, postings per filter value and cached sort orders; safe to read from a thread
    while the event loop writes (one lock, held for microseconds per change)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, IndexRow] = {}
        self._postings: dict[str, dict[str, set[str]]] = {f: {} for f in (*FILTERS, "label")}
        self._orders: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def names(self) -> set[str]:
        return set(self._rows)

    def put(self, row: IndexRow) -> bool:
        """Add or replace a row; False when nothing changed (the common no-op reconcile)."""
        with self._lock:
            old = self._rows.get(row.name)
            if old == row:
                return False
            if old is not None:
                self._unpost(old)
            self._rows[row.name] = row
            self._post(row)
            self._invalidate(old, row)
            return True

    def remove(self, name: str) -> None:
        with self._lock:
            old = self._rows.pop(name, None)
            if old is not None:
                self._unpost(old)
                self._orders.clear()

    def replace_all(self, rows: Iterable[IndexRow]) -> None:
        with self._lock:
            self._rows = {row.name: row for row in rows}
            self._postings = {f: {} for f in (*FILTERS, "label")}
            for row in self._rows.values():
                self._post(row)
            self._orders.clear()

    def get(self, name: str) -> IndexRow | None:
        return self._rows.get(name)

    # -- maintenance -----------------------------------------------------------------------------

    @staticmethod
    def _keys(row: IndexRow) -> Iterable[tuple[str, str]]:
        for field in FILTERS:
            yield field, getattr(row, field)
        for key, value in row.labels:
            yield "label", key
            yield "label", f"{key}={value}"

    def _post(self, row: IndexRow) -> None:
        for field, value in self._keys(row):
            self._postings[field].setdefault(value, set()).add(row.name)

    def _unpost(self, row: IndexRow) -> None:
        for field, value in self._keys(row):
            names = self._postings[field].get(value)
            if names is not None:
                names.discard(row.name)
                if not names:
                    del self._postings[field][value]

    def _invalidate(self, old: IndexRow | None, new: IndexRow) -> None:
        if old is None:
            self._orders.clear()
            return
        for key in list(self._orders):
            if _SORT_VALUE[key](old) != _SORT_VALUE[key](new):
                del self._orders[key]

    def _order(self, key: str) -> list[str]:
        found = self._orders.get(key)
        if found is None:
            value = _SORT_VALUE[key]
            found = [row.name for row in sorted(self._rows.values(), key=value)]
            self._orders[key] = found
        return found

    # -- queries ---------------------------------------------------------------------------------

    def query(self, query: AppQuery) -> AppPage:
        with self._lock:
            return self._query(query)

    def _restrict(self, query: AppQuery) -> set[str] | None:
        """Names allowed by every filter except sync and health; None means every app."""
        sets: list[set[str]] = []
        if query.projects is not None:
            visible: set[str] = set()
            for project in query.projects:
                visible |= self._postings["project"].get(project, set())
            sets.append(visible)
        for field in ("project", "cluster", "namespace"):
            value = getattr(query, field)
            if value:
                sets.append(self._postings[field].get(value, set()))
        if query.label:
            sets.append(self._postings["label"].get(query.label.strip(), set()))
        if not sets:
            base = None
        else:
            sets.sort(key=len)
            base = set(sets[0])
            for other in sets[1:]:
                base &= other
        needle = (query.search or "").strip().lower()
        if needle:
            pool = self._rows if base is None else base
            base = {name for name in pool if needle in name.lower()}
        return base

    def _count(self, field: str, values: tuple[str, ...], base: set[str] | None) -> dict[str, int]:
        postings = self._postings[field]
        out = {}
        for value in sorted(set(values) | set(postings)):
            names = postings.get(value, set())
            out[value] = len(names) if base is None else len(names & base)
        return out

    def _query(self, query: AppQuery) -> AppPage:
        base = self._restrict(query)
        sync_counts = self._count("sync", SYNC_VALUES, base)
        health_counts = self._count("health", HEALTH_VALUES, base)
        chosen = base
        for field in ("sync", "health"):
            value = getattr(query, field)
            if value:
                names = self._postings[field].get(value, set())
                chosen = set(names) if chosen is None else chosen & names
        sort = query.sort if query.sort in _SORT_VALUE else "name"
        order = self._order(sort)
        if query.descending:
            order = order[::-1]
        matching = order if chosen is None else [n for n in order if n in chosen]
        limit = max(0, min(query.limit, MAX_LIMIT))
        offset = max(0, query.offset)
        rows = [self._rows[n] for n in matching[offset : offset + limit]]
        return AppPage(
            total=len(matching),
            offset=offset,
            limit=limit,
            rows=rows,
            sync_counts=sync_counts,
            health_counts=health_counts,
            facets=self._facets(query.projects),
        )

    def _facets(self, projects: frozenset[str] | None) -> dict[str, list[str]]:
        """Values to offer in the filter menus; a project-scoped caller sees only its projects'."""
        keys = ("project", "cluster", "namespace")
        if projects is None:
            return {f: sorted(v for v in self._postings[f] if v)[:FACET_LIMIT] for f in keys}
        seen: dict[str, set[str]] = {f: set() for f in keys}
        for project in projects:
            for name in self._postings["project"].get(project, set()):
                row = self._rows[name]
                for f in keys:
                    seen[f].add(getattr(row, f))
        return {f: sorted(v for v in seen[f] if v)[:FACET_LIMIT] for f in keys}
