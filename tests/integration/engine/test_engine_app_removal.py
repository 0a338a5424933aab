"""An app that leaves the config, against a real cluster: its deletionPolicy decides what happens to
its objects, another app adopts what it released, a config that does not load removes nothing, and
the config is reloaded live (new app, changed path) without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.errors import GitwardError
from gitward.core.marks import MANAGED_BY_LABEL, TRACKING_ANNOTATION, owner_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def kube(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


async def _cm(kube: LightkubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    return await kube.get("v1", "ConfigMap", namespace, name)


def _repo(git_server: FileGitServer, name: str) -> str:
    files = {
        "one/shared.yaml": configmap("shared", {"k": "one"}),
        "two/shared.yaml": configmap("shared", {"k": "one"}),
        "two/extra.yaml": configmap("extra", {"k": "two"}),
    }
    git_server.create_repo(name, files)
    return git_server.url(name)


def _events(harness: Harness, app: str, reason: str) -> list[dict[str, Any]]:
    assert harness.engine is not None
    return [e for e in harness.engine.events(app) if e["reason"] == reason]


async def test_a_removed_app_releases_its_objects_and_another_app_adopts_them(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "orphan")
    harness.configure(application("first", repo=url, path="one", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("first"))
    live = await _cm(kube, namespace, "shared")
    assert live is not None
    assert owner_of(live) == "first"
    await harness.stop()

    # "first" leaves the config (default policy: orphan); "second" renders the same object.
    harness.configure(application("second", repo=url, path="two", namespace=namespace))
    engine = await harness.start()
    tombstone = await harness.until(lambda: engine.store.removed_apps().get("first"))
    assert tombstone["policy"] == "orphan"
    assert engine.store.load_inventory("first") == []
    assert engine.store.load_status("first") is None
    (removed,) = _events(harness, "first", "Removed")
    assert "released" in removed["message"]

    await harness.until(lambda: harness.is_synced_healthy("second"))
    live = await _cm(kube, namespace, "shared")
    assert live is not None
    assert owner_of(live) == "second"  # adopted, not refused as another app's
    (adopted,) = await harness.until(lambda: _events(harness, "second", "Adopted"))
    assert "'first'" in adopted["message"]
    assert "shared" in adopted["message"]


async def test_an_orphaned_object_keeps_everything_but_the_marks(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "marks")
    harness.configure(
        application("keeper", repo=url, path="one", namespace=namespace),
        application("other", repo=url, path="two", namespace=f"{namespace}-o"),
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("keeper") and harness.is_synced_healthy("other"))
    await harness.stop()

    harness.configure(application("other", repo=url, path="two", namespace=f"{namespace}-o"))
    engine = await harness.start()
    await harness.until(lambda: engine.store.removed_apps().get("keeper"))
    live = await _cm(kube, namespace, "shared")
    assert live is not None
    meta = live["metadata"]
    assert TRACKING_ANNOTATION not in (meta.get("annotations") or {})
    assert MANAGED_BY_LABEL not in (meta.get("labels") or {})
    assert live["data"] == {"k": "one"}
    # the other app's objects are not touched
    other = await _cm(kube, f"{namespace}-o", "shared")
    assert other is not None
    assert owner_of(other) == "other"


async def test_foreground_deletion_deletes_the_objects_of_a_removed_app(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "foreground")
    harness.configure(
        application("doomed", repo=url, path="two", namespace=namespace, deletionPolicy="foreground"),
        application("bystander", repo=url, path="one", namespace=f"{namespace}-b"),
    )
    await harness.start()
    await harness.until(
        lambda: harness.is_synced_healthy("doomed") and harness.is_synced_healthy("bystander")
    )
    assert await _cm(kube, namespace, "extra") is not None
    await harness.stop()

    harness.configure(application("bystander", repo=url, path="one", namespace=f"{namespace}-b"))
    engine = await harness.start()
    tombstone = await harness.until(lambda: engine.store.removed_apps().get("doomed"))
    assert tombstone["policy"] == "foreground"
    assert await _poll(lambda: _all_gone(kube, namespace, ["shared", "extra"]))
    assert await _cm(kube, f"{namespace}-b", "shared") is not None  # another app's object stays
    (removed,) = _events(harness, "doomed", "Removed")
    assert "deleted (foreground)" in removed["message"]


async def _all_gone(kube: LightkubeClient, namespace: str, names: list[str]) -> bool:
    found = [await _cm(kube, namespace, n) for n in names]
    return all(obj is None for obj in found)


async def _poll(check: Callable[[], Awaitable[Any]], *, tries: int = 450) -> Any:
    """``check()`` until it answers something true (bounded: ``tries`` looks 0.2 s apart)."""
    last: Any = None
    for _ in range(tries):
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met; last: {last!r}")


async def test_a_config_with_a_syntax_error_removes_nothing_and_the_last_good_config_keeps_syncing(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "syntax")
    harness.configure(application("steady", repo=url, path="one", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("steady"))

    # A reload of a config with a file that does not parse: refused as a whole.
    (harness.config_dir / "broken.yaml").write_text("apiVersion: [unclosed\n")
    harness.configure()  # and "steady" is no longer in the good file
    assert engine.reload() is None
    status = engine.config_status()
    assert status["keptLastGood"] is True
    assert any("broken.yaml" in e["name"] for e in status["errors"])
    assert "steady" in engine.runtimes
    assert engine.store.removed_apps() == {}

    # The last good config keeps syncing: a deleted object comes back.
    await kube.delete("v1", "ConfigMap", namespace, "shared")
    await engine.refresh_app("steady")
    await harness.until(lambda: harness.is_synced_healthy("steady"))
    assert await _cm(kube, namespace, "shared") is not None

    # Across a restart too: a config that does not load counts no app as gone.
    await harness.stop()
    engine = await harness.start()
    await harness.settle()
    assert engine.store.removed_apps() == {}
    live = await _cm(kube, namespace, "shared")
    assert live is not None
    assert owner_of(live) == "steady"


async def test_live_reload_adds_an_app_and_changes_another_path_without_restart(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "reload")
    harness.configure(application("mover", repo=url, path="one", namespace=namespace))
    engine = await harness.start(watch_config=0.2)
    await harness.until(lambda: harness.is_synced_healthy("mover"))
    assert await _cm(kube, namespace, "extra") is None

    harness.configure(
        application("mover", repo=url, path="two", namespace=namespace),
        application("newcomer", repo=url, path="one", namespace=f"{namespace}-n"),
    )
    await harness.until(lambda: "newcomer" in engine.runtimes)  # the watcher reloaded it
    await harness.until(lambda: harness.is_synced_healthy("newcomer"))
    await harness.until(lambda: harness.is_synced_healthy("mover") and harness.app("mover")["path"] == "two")
    live = await _poll(lambda: _cm(kube, namespace, "extra"))
    assert owner_of(live) == "mover"
    new = await _cm(kube, f"{namespace}-n", "shared")
    assert new is not None
    assert owner_of(new) == "newcomer"


async def test_app_delete_is_refused_for_a_declared_app_and_removes_an_undeclared_one(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    url = _repo(git_server, "delete")
    harness.configure(application("declared", repo=url, path="one", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("declared"))

    with pytest.raises(GitwardError, match=r"declared in .*gitward\.yaml: remove it there") as refused:
        await engine.delete_app("declared", cascade="foreground", initiator="alice")
    assert refused.value.reason == "DeclaredInConfig"
    assert await _cm(kube, namespace, "shared") is not None  # nothing was touched

    with pytest.raises(GitwardError, match="not found"):
        await engine.delete_app("never-known")
