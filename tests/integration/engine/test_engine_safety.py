"""Prune safety against a real cluster: what leaves Git is deleted only when allowed and provably ours.

Covers automated prune, prune switched off (reported, then pruned by a manual sync), a render error
that must leave the cluster alone while another app keeps syncing, foreign objects carrying copied
ownership marks (docs/reliability.md, bad input 16), and a delete refused by admission (fault F4).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.cluster_support import configmap_delete_guard
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


def _exists(kube_cluster: Any, kind: str, name: str, namespace: str) -> bool:
    out = kube_cluster.kubectl("get", kind, name, "-n", namespace, "-o", "name", check=False)
    return bool(out.strip())


def _row(harness: Harness, app: str, name: str) -> dict[str, Any] | None:
    return next((r for r in harness.app(app)["resources"] if r["name"] == name), None)


async def _two_configmaps(
    harness: Harness, git_server: FileGitServer, namespace: str, **app_options: Any
) -> tuple[str, Any]:
    """An app owning ``<app>-keep`` and ``<app>-gone``, synced; returns its name and repository."""
    app = _name("prune")
    repo = git_server.create_repo(
        app,
        {
            "app/keep.yaml": configmap(f"{app}-keep", {"k": "v"}),
            "app/gone.yaml": configmap(f"{app}-gone", {"k": "v"}),
        },
    )
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, **app_options)
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    return app, repo


async def test_a_manifest_removed_from_git_is_pruned(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, repo = await _two_configmaps(harness, git_server, namespace)
    assert _exists(kube_cluster, "configmap", f"{app}-gone", namespace)

    repo.commit({"app/gone.yaml": None}, message="remove gone")
    assert harness.engine is not None
    await harness.engine.refresh_app(app)

    await harness.until(lambda: not _exists(kube_cluster, "configmap", f"{app}-gone", namespace))
    assert _exists(kube_cluster, "configmap", f"{app}-keep", namespace)
    assert _row(harness, app, f"{app}-gone") is None
    assert harness.is_synced_healthy(app)
    operation = harness.engine.history(app)[0]
    deleted = [r["name"] for r in operation["resources"] if r["action"] == "deleted"]
    assert deleted == [f"{app}-gone"]


async def test_with_prune_off_a_removed_manifest_requires_pruning_until_a_manual_sync_prunes_it(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, repo = await _two_configmaps(harness, git_server, namespace, prune=False)
    assert harness.engine is not None
    await harness.settle()
    writes_before = harness.writes()

    repo.commit({"app/gone.yaml": None}, message="remove gone")
    await harness.engine.refresh_app(app)
    await harness.settle()

    assert _exists(kube_cluster, "configmap", f"{app}-gone", namespace)
    assert harness.writes() == writes_before
    status = harness.app(app)
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == repo.head()
    row = _row(harness, app, f"{app}-gone")
    assert row is not None
    assert row["sync"] == "OutOfSync"
    assert row["message"] == "requires pruning"

    operation = await harness.engine.sync_app(app, prune=True)
    assert operation["phase"] == "Succeeded"
    assert not _exists(kube_cluster, "configmap", f"{app}-gone", namespace)
    assert _exists(kube_cluster, "configmap", f"{app}-keep", namespace)
    assert harness.is_synced_healthy(app)
    assert _row(harness, app, f"{app}-gone") is None


async def test_a_render_error_touches_nothing_and_does_not_block_another_app(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    bad, good = _name("bad"), _name("good")
    repo = git_server.create_repo(
        bad,
        {
            f"{bad}/a.yaml": configmap(bad, {"k": "v1"}),
            f"{good}/a.yaml": configmap(good, {"k": "v1"}),
        },
    )
    url = git_server.url(bad)
    harness.configure(
        application(bad, repo=url, path=bad, namespace=namespace),
        application(good, repo=url, path=good, namespace=namespace),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(bad) and harness.is_synced_healthy(good))
    await harness.settle()
    writes_before = harness.writes()
    good_commit = harness.app(bad)["sync"]["revision"]

    repo.commit({f"{bad}/a.yaml": "kind: ConfigMap\nmetadata: {name: [unclosed\n"}, message="broken")
    await engine.refresh_app(bad)
    await harness.settle()

    assert harness.writes() == writes_before
    status = harness.app(bad)
    assert "a.yaml" in status["message"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert "a.yaml" in ready["message"]
    assert status["sync"]["revision"] == good_commit
    assert kube_cluster.get_json("configmap", bad, "-n", namespace)["data"] == {"k": "v1"}
    assert any(e["type"] == "Warning" and "a.yaml" in e["message"] for e in engine.events(bad))

    # The other app, same repository and engine, follows its next commit as usual.
    repo.commit({f"{good}/a.yaml": configmap(good, {"k": "v2"})}, message="good moves on")
    await engine.refresh_app(good)
    await harness.until(
        lambda: kube_cluster.get_json("configmap", good, "-n", namespace)["data"] == {"k": "v2"}
    )
    assert harness.is_synced_healthy(good)
    assert harness.app(good)["sync"]["revision"] == repo.head()
    assert kube_cluster.get_json("configmap", bad, "-n", namespace)["data"] == {"k": "v1"}


async def test_a_foreign_object_with_a_copied_mark_is_never_pruned(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, repo = await _two_configmaps(harness, git_server, namespace, self_heal=False)
    gone = kube_cluster.get_json("configmap", f"{app}-gone", "-n", namespace)
    marks = gone["metadata"]["annotations"]
    labels = gone["metadata"]["labels"]
    # An impostor: someone else's object, with the marks of one of ours copied onto it.
    impostor = f"{app}-impostor"
    kube_cluster.kubectl("apply", "-f", "-", stdin=_foreign(impostor, namespace, marks, labels))
    # And an object of ours replaced out of band by a foreign one carrying a mark naming another object.
    keep = kube_cluster.get_json("configmap", f"{app}-keep", "-n", namespace)["metadata"]
    kube_cluster.kubectl("delete", "configmap", f"{app}-keep", "-n", namespace)
    kube_cluster.kubectl("apply", "-f", "-", stdin=_foreign(f"{app}-keep", namespace, marks, keep["labels"]))

    repo.commit({"app/gone.yaml": None, "app/keep.yaml": None, "app/new.yaml": configmap(f"{app}-new", {})})
    assert harness.engine is not None
    await harness.engine.refresh_app(app)
    await harness.until(lambda: not _exists(kube_cluster, "configmap", f"{app}-gone", namespace))
    await harness.settle()

    assert _exists(kube_cluster, "configmap", impostor, namespace)
    assert _exists(kube_cluster, "configmap", f"{app}-keep", namespace)
    operation = harness.engine.history(app)[0]
    by_name = {r["name"]: r for r in operation["resources"]}
    assert impostor not in by_name
    assert by_name[f"{app}-gone"]["action"] == "deleted"
    assert by_name[f"{app}-keep"]["action"] == "skipped"
    assert "not pruned" in by_name[f"{app}-keep"]["message"]


def _foreign(name: str, namespace: str, annotations: dict[str, str], labels: dict[str, str]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations, "labels": labels},
            "data": {"owner": "someone else"},
        }
    )


@pytest.fixture
def protect_label(kube_cluster: Any) -> Iterator[tuple[str, str]]:
    """A ValidatingAdmissionPolicy refusing DELETE of ConfigMaps labelled ``gitward-test/protect=<id>``."""
    value = uuid4().hex[:8]
    name = f"gitward-test-protect-{value}"
    guard = configmap_delete_guard(
        name,
        expression="false",
        message="protected by the test policy",
        match_resources={"objectSelector": {"matchLabels": {"gitward-test/protect": value}}},
    )
    kube_cluster.kubectl(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": guard})
    )
    try:
        yield name, value
    finally:
        remove_policy(kube_cluster, name)


def remove_policy(kube_cluster: Any, name: str) -> None:
    kube_cluster.kubectl("delete", "validatingadmissionpolicybinding", name, "--ignore-not-found")
    kube_cluster.kubectl("delete", "validatingadmissionpolicy", name, "--ignore-not-found")


def _delete_refused(kube_cluster: Any, name: str, namespace: str) -> bool:
    out = kube_cluster.kubectl("delete", "configmap", name, "-n", namespace, "--dry-run=server", check=False)
    return "deleted" not in out


async def test_a_delete_refused_by_admission_stays_in_the_inventory_and_is_retried_until_it_succeeds(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    protect_label: tuple[str, str],
) -> None:
    policy, value = protect_label
    app = _name("f4")
    protected = yaml.safe_load(configmap(f"{app}-gone", {"k": "v"}))
    protected["metadata"]["labels"] = {"gitward-test/protect": value}
    repo = git_server.create_repo(
        app,
        {"app/keep.yaml": configmap(f"{app}-keep", {"k": "v"}), "app/gone.yaml": yaml.safe_dump(protected)},
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.until(lambda: _delete_refused(kube_cluster, f"{app}-gone", namespace))

    conn = engine.connections.get("local")
    assert conn is not None
    deletes_before = conn.client.request_counts().get("delete", 0)
    repo.commit({"app/gone.yaml": None}, message="remove the protected object")
    await engine.refresh_app(app)

    # Refused, and asked again (with backoff) more than once.
    await harness.until(lambda: conn.client.request_counts().get("delete", 0) >= deletes_before + 2)
    assert _exists(kube_cluster, "configmap", f"{app}-gone", namespace)
    status = harness.app(app)
    assert status["sync"]["status"] != "Synced"
    row = _row(harness, app, f"{app}-gone")
    assert row is not None
    assert row["sync"] == "OutOfSync"
    assert "protected by the test policy" in status["message"]
    failed = next(op for op in engine.history(app) if op["phase"] == "Failed")
    refused = [r for r in failed["resources"] if r["name"] == f"{app}-gone"]
    assert refused[0]["action"] == "failed"
    assert any(
        e["type"] == "Warning" and "protected by the test policy" in e["message"] for e in engine.events(app)
    )

    remove_policy(kube_cluster, policy)
    await harness.until(lambda: not _exists(kube_cluster, "configmap", f"{app}-gone", namespace))
    await harness.until(lambda: harness.is_synced_healthy(app))
    assert _row(harness, app, f"{app}-gone") is None
    assert _exists(kube_cluster, "configmap", f"{app}-keep", namespace)


async def test_a_delete_held_by_a_finalizer_stays_in_the_inventory_until_the_object_is_gone(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = _name("fin")
    held = yaml.safe_load(configmap(f"{app}-gone", {"k": "v"}))
    held["metadata"]["finalizers"] = ["gitward.dev/test-hold"]
    repo = git_server.create_repo(
        app,
        {"app/keep.yaml": configmap(f"{app}-keep", {"k": "v"}), "app/gone.yaml": yaml.safe_dump(held)},
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))

    repo.commit({"app/gone.yaml": None}, message="remove the held object")
    await engine.refresh_app(app)
    await harness.until(
        lambda: kube_cluster.get_json("configmap", f"{app}-gone", "-n", namespace)["metadata"].get(
            "deletionTimestamp"
        )
    )
    await harness.settle()
    row = _row(harness, app, f"{app}-gone")
    assert row is not None
    assert "finalizers" in row["message"]
    assert not harness.is_synced_healthy(app)

    kube_cluster.kubectl(
        "patch",
        "configmap",
        f"{app}-gone",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    await harness.until(lambda: not _exists(kube_cluster, "configmap", f"{app}-gone", namespace))
    await harness.until(lambda: _row(harness, app, f"{app}-gone") is None and harness.is_synced_healthy(app))
