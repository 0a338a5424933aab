"""What one generation of an ApplicationSet changes, against a registry on a real SQLite store:
create, update or hold by policy, names another app holds, and deletions only when the policy
deletes and nothing failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.appset import Stamped
from gitward.model import Application
from gitward.model.appset import ApplicationSet
from gitward.reconcile.appsetplan import plan_generation
from gitward.reconcile.registry import Registry, generated_by
from gitward.store import Store


def app(name: str, path: str = "a") -> Application:
    return Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {"source": {"repoURL": "https://x/r.git", "path": path}},
        }
    )


def appset(policy: str) -> ApplicationSet:
    return ApplicationSet.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "s"},
            "spec": {
                "generators": [{"list": {"elements": []}}],
                "template": {"metadata": {"name": "x"}, "spec": {}},
                "syncPolicy": {"applicationsSync": policy},
            },
        }
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    store = Store.open(tmp_path / "state.db")
    found = Registry(store, config_path=tmp_path)
    for name in ("same", "changed", "gone"):
        found.put_generated(app(name), parent=generated_by("s"))
    found.register(app("declared"))  # in the config
    found.put_generated(app("other-set"), parent=generated_by("t"))
    yield found
    store.close()


def stamped(*apps: Application, problems: tuple[str, ...] = ()) -> Stamped:
    return Stamped(apps={a.name: a for a in apps}, problems=problems)


def made(*extra: Application, problems: tuple[str, ...] = ()) -> Stamped:
    return stamped(app("same"), app("changed", "b"), app("new"), *extra, problems=problems)


@pytest.mark.parametrize(
    ("policy", "update", "hold", "delete", "keep"),
    [
        ("sync", ["changed"], [], ["gone"], []),
        ("create-update", ["changed"], [], [], ["gone"]),
        ("create-delete", [], ["changed"], ["gone"], []),
        ("create-only", [], ["changed"], [], ["gone"]),
    ],
)
def test_the_policy_decides_updates_and_deletions(
    registry: Registry, policy: str, update: list[str], hold: list[str], delete: list[str], keep: list[str]
) -> None:
    plan = plan_generation(appset(policy), made(), registry)
    assert [a.name for a in plan.create] == ["new"]
    assert plan.unchanged == ["same"]
    assert [a.name for a in plan.update] == update
    assert plan.hold == hold
    assert plan.delete == delete
    assert plan.keep == keep
    assert plan.problems == []


def test_a_name_another_app_holds_is_a_conflict_and_blocks_deletions(registry: Registry) -> None:
    plan = plan_generation(appset("sync"), made(app("declared"), app("other-set")), registry)
    assert plan.conflicts == [
        "application 'declared' is already declared in the config; the set does not make it",
        "application 'other-set' is already declared by ApplicationSet 't'; the set does not make it",
    ]
    assert plan.delete == []
    assert plan.blocked == ["gone"]


def test_any_problem_of_the_stamping_blocks_every_deletion(registry: Registry) -> None:
    plan = plan_generation(appset("create-delete"), made(problems=("parameter set 3: bad",)), registry)
    assert plan.delete == []
    assert plan.blocked == ["gone"]
    assert [a.name for a in plan.create] == ["new"]  # the apps that could be made still are
