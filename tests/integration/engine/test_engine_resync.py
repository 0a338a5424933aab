"""The interval resync against the real engine, cluster and Git server.

An interval pass of an app whose Git input and live objects did not change is skipped (no render, no
comparison, no request); the repository is still polled, and a commit found by the poll wakes exactly
the apps whose input it changed, without a webhook. ``full_resync`` bounds how long passes are
skipped. An overlay's input includes its ``../base``: a commit to the base alone re-renders it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml
from devtools.gitservers import FileGitServer
from prometheus_client import REGISTRY
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _skipped() -> float:
    return REGISTRY.get_sample_value("gitward_resyncs_skipped_total") or 0.0


def _every_second(app: dict[str, Any]) -> dict[str, Any]:
    app["spec"]["syncPolicy"]["interval"] = "1s"
    return app


async def test_unchanged_apps_skip_interval_passes_and_a_polled_commit_wakes_only_its_app(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app_a, app_b = unique("resync-a"), unique("resync-b")
    repo = git_server.create_repo(
        app_a, {"a/cm.yaml": configmap(app_a, {"v": "1"}), "b/cm.yaml": configmap(app_b, {"v": "1"})}
    )
    url = git_server.url(app_a)
    harness.configure(
        _every_second(application(app_a, repo=url, path="a", namespace=f"{namespace}-a")),
        _every_second(application(app_b, repo=url, path="b", namespace=f"{namespace}-b")),
    )
    engine = await harness.start()
    for app in (app_a, app_b):
        await harness.until(lambda app=app: harness.is_synced_healthy(app))
    await harness.settle()
    first_commit = repo.head()
    reconciles, skipped = engine.reconciles, _skipped()
    misses, writes = engine.fetcher.render_cache.misses, harness.writes()

    # Several interval passes of both apps, however slowly a loaded machine runs them: each is skipped.
    await harness.until(lambda: _skipped() - skipped >= 4)
    assert engine.reconciles == reconciles  # not one full pass
    assert engine.fetcher.render_cache.misses == misses
    assert harness.writes() == writes

    repo.commit({"a/cm.yaml": configmap(app_a, {"v": "2"})}, message="a only")
    repo.push()  # no webhook: the interval poll finds it
    await harness.until(
        lambda: kube_cluster.get_json("configmap", app_a, "-n", f"{namespace}-a")["data"] == {"v": "2"}
    )
    await harness.settle()
    assert harness.app(app_a)["sync"]["revision"] == repo.head()
    # b's input did not change: still skipped, its last full pass was at the old commit
    assert harness.app(app_b)["sync"]["revision"] == first_commit
    assert engine.fetcher.render_cache.misses - misses == 1


async def test_full_resync_bounds_how_long_passes_are_skipped(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = unique("fullsync")
    git_server.create_repo(name, {"app/cm.yaml": configmap(name, {"v": "1"})})
    harness.configure(
        _every_second(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    )
    engine = await harness.start(full_resync=0.0)
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    reconciles, skipped, writes = engine.reconciles, _skipped(), harness.writes()

    # Interval passes keep coming (1 s apart); each is compared in full, none skipped.
    await harness.until(lambda: engine.reconciles - reconciles >= 2)
    assert _skipped() == skipped
    assert harness.writes() == writes  # and still wrote nothing: nothing changed
    assert harness.is_synced_healthy(name)


async def test_a_fleet_larger_than_the_render_cache_is_not_rendered_again_by_its_passes(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    """The cache is made for 1 render here and 3 apps share it: the engine fits it to the config's
    apps, so their full passes (``full_resync=0``) find every render still cached."""
    names = [unique(f"fleet{i}") for i in range(3)]
    git_server.create_repo(names[0], {f"{n}/cm.yaml": configmap(n, {"v": "1"}) for n in names})
    url = git_server.url(names[0])
    harness.configure(
        *(
            _every_second(application(n, repo=url, path=n, namespace=f"{namespace}-{i}"))
            for i, n in enumerate(names)
        )
    )
    engine = await harness.start(full_resync=0.0, render_cache_entries=1)
    for name in names:
        await harness.until(lambda name=name: harness.is_synced_healthy(name))
    await harness.settle()
    misses, reconciles = engine.fetcher.render_cache.misses, engine.reconciles
    assert misses == 3  # one render per app

    await harness.until(lambda: engine.reconciles - reconciles >= 6)  # two full passes of each app
    assert engine.fetcher.render_cache.misses == misses


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


async def test_a_commit_to_an_overlays_base_alone_rerenders_the_overlay(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("overlay")
    repo = git_server.create_repo(
        name,
        {
            "base/kustomization.yaml": _yaml({"resources": ["cm.yaml"]}),
            "base/cm.yaml": configmap("settings", {"level": "1"}),
            "prod/kustomization.yaml": _yaml({"resources": ["../base"], "namePrefix": "prod-"}),
        },
    )
    harness.configure(application(name, repo=git_server.url(name), path="prod", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()

    repo.commit({"base/cm.yaml": configmap("settings", {"level": "2"})}, message="base only")
    repo.push()
    assert await engine.trigger_repository(git_server.url(name)) == [name]
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "prod-settings", "-n", namespace)["data"] == {"level": "2"}
    )
    await harness.settle()
    assert harness.app(name)["sync"]["revision"] == repo.head()

    # A commit outside both folders changes nothing the overlay reads.
    repo.commit({"docs/README.md": "notes\n"}, message="docs")
    repo.push()
    assert await engine.trigger_repository(git_server.url(name)) == []
