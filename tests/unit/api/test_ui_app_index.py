"""The app index behind the paged list: filters, counts, sort orders kept current, project scope."""

from __future__ import annotations

from gitward.reconcile.appindex import AppIndex, AppQuery, IndexRow


def row(
    name: str,
    *,
    project: str = "p",
    cluster: str = "c1",
    sync: str = "Synced",
    health: str = "Healthy",
    updated: float = 0.0,
    labels: dict[str, str] | None = None,
) -> IndexRow:
    return IndexRow(
        name=name,
        project=project,
        cluster=cluster,
        namespace=name,
        sync=sync,
        health=health,
        health_message="",
        revision="",
        repo="",
        path="",
        suspended=False,
        phase="",
        updated=updated,
        message="",
        labels=tuple(sorted((labels or {}).items())),
    )


def names(index: AppIndex, **query: object) -> list[str]:
    return [r.name for r in index.query(AppQuery(**query)).rows]  # type: ignore[arg-type]


def test_filters_intersect_and_counts_ignore_the_status_filters() -> None:
    index = AppIndex()
    index.replace_all(
        [
            row("a", cluster="c1", health="Degraded", labels={"team": "x"}),
            row("b", cluster="c2", sync="OutOfSync"),
            row("c", cluster="c1", labels={"team": "y"}),
        ]
    )
    assert names(index, cluster="c1") == ["a", "c"]
    assert names(index, label="team") == ["a", "c"]
    assert names(index, label="team=y") == ["c"]
    page = index.query(AppQuery(cluster="c1", health="Healthy"))
    assert [r.name for r in page.rows] == ["c"]
    assert page.total == 1
    assert page.health_counts["Degraded"] == 1  # the chips still show what else there is
    assert page.health_counts["Healthy"] == 1
    assert names(index, search="B") == ["b"]


def test_a_status_change_moves_an_app_in_the_sort_order() -> None:
    index = AppIndex()
    index.replace_all([row("a", updated=1.0), row("b", updated=2.0)])
    assert names(index, sort="updated", descending=True) == ["b", "a"]
    assert index.put(row("a", updated=3.0))
    assert not index.put(row("a", updated=3.0))  # unchanged: nothing to do
    assert names(index, sort="updated", descending=True) == ["a", "b"]
    index.remove("a")
    assert names(index, sort="updated") == ["b"]
    assert index.query(AppQuery(health="Healthy")).total == 1


def test_paging_and_project_scope() -> None:
    index = AppIndex()
    index.replace_all([row(f"app-{i:03d}", project="p1" if i < 30 else "p2") for i in range(100)])
    page = index.query(AppQuery(offset=40, limit=20))
    assert page.rows[0].name == "app-040"
    assert len(page.rows) == 20
    assert page.total == 100
    scoped = index.query(AppQuery(projects=frozenset({"p1"}), limit=500))
    assert scoped.total == 30
    assert scoped.facets["project"] == ["p1"]
    assert index.query(AppQuery(projects=frozenset(), limit=5)).total == 0
