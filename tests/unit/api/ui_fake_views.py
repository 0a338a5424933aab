"""The in-memory engine of the API tests with the UI's read side: a real ``AppIndex`` and a real
``StatusFeed`` over its apps, so pages and the stream run their real code on known data."""

from __future__ import annotations

from typing import Any

from tests.unit.api.api_fake_service import FakeEngine

from gitward.appview import status_event
from gitward.reconcile.appindex import AppIndex, AppPage, AppQuery, row_of
from gitward.reconcile.livefeed import StatusFeed

SECRET_VALUE = "hunter2-must-never-show"


class FakeViews(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self._feed = StatusFeed(capacity=16)
        self.index = AppIndex()
        self.reindex()

    def reindex(self) -> None:
        self.index.replace_all(row_of(app) for app in self.apps.values())

    @property
    def feed(self) -> StatusFeed:
        return self._feed

    def change(self, name: str, **status: Any) -> None:
        """Change an app's sync/health as the engine would, and publish it."""
        app = self.apps[name]
        if "sync" in status:
            app["sync"]["status"] = status["sync"]
        if "health" in status:
            app["health"]["status"] = status["health"]
        self.index.put(row_of(app))
        self._feed.publish(name, app.get("project", ""), status_event(app))

    def query_apps(self, query: AppQuery) -> AppPage:
        return self.index.query(query)

    async def app_tree(self, name: str) -> list[dict[str, Any]]:
        self._find(name)
        return [
            {
                "kind": "Deployment",
                "namespace": name,
                "name": name,
                "health": "Healthy",
                "message": "",
                "healthBy": "HealthCheck deploys, rule 1",
                "sync": "Synced",
                "more": 0,
                "children": [
                    {
                        "kind": "ReplicaSet",
                        "namespace": name,
                        "name": f"{name}-5d8f",
                        "health": "Healthy",
                        "message": "",
                        "healthBy": "built-in ReplicaSet.apps",
                        "children": [],
                        "more": 0,
                    }
                ],
            }
        ]

    def commit_of(self, name: str) -> dict[str, Any] | None:
        self._find(name)
        return {
            "sha": "3f1c0de" + "0" * 33,
            "author": "Ada",
            "email": "ada@example.com",
            "time": 1.7e9,
            "subject": "podinfo: 2 replicas",
            "message": "podinfo: 2 replicas",
        }

    def cluster_views(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "prod",
                "context": "",
                "connected": True,
                "reachable": True,
                "since": 1.7e9,
                "error": "",
                "watchedKinds": 3,
                "apps": len(self.apps),
                "health": {"Healthy": 1},
                "sync": {},
            }
        ]

    def repository_views(self) -> list[dict[str, Any]]:
        return [
            {
                "url": "https://git.example.com/org/apps.git",
                "chart": False,
                "apps": sorted(self.apps),
                "appCount": len(self.apps),
                "lastFetch": 1.7e9,
                "errors": [],
            }
        ]
