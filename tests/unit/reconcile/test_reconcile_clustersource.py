"""The config read from custom resources (``read_objects``) and the status written back
(``status_body``, ``refused_body``): pure, on plain documents."""

from __future__ import annotations

from typing import Any

from gitward.core.appstatus import AppStatus, HealthState, SyncState, mark_result
from gitward.core.status import HealthStatus, SyncStatus
from gitward.reconcile.clustersource import read_objects
from gitward.reconcile.engine import unreadable
from gitward.reconcile.statuswriter import MAX_RESOURCES, object_body, refused_body, rfc3339, status_body

API = "gitward.dev/v1alpha1"


def _app(name: str, namespace: str, *, created: str, path: str = "apps", uid: str = "") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"{namespace}-{name}",
            "generation": 3,
            "creationTimestamp": created,
            "resourceVersion": "42",
        },
        "spec": {
            "source": {"repoURL": "https://git.example/repo.git", "path": path},
            "destination": {"cluster": "in-cluster", "namespace": "web"},
        },
        "status": {"sync": {"status": "Synced"}, "anything": "the models refuse"},
    }


def test_objects_are_read_with_their_status_dropped() -> None:
    read = read_objects([_app("web", "team-a", created="2024-01-01T00:00:00Z")])
    assert [a.name for a in read.config.applications] == ["web"]
    assert read.config.errors == ()
    ref = read.applications["web"]
    assert (ref.namespace, ref.uid, ref.generation) == ("team-a", "team-a-web", 3)


def test_the_second_of_one_name_in_another_namespace_is_refused_and_the_first_runs() -> None:
    later = _app("web", "team-b", created="2024-02-01T00:00:00Z", path="other")
    first = _app("web", "team-a", created="2024-01-01T00:00:00Z")
    read = read_objects([later, first])
    assert [a.spec.source.path for a in read.config.applications] == ["apps"]
    assert read.applications["web"].namespace == "team-a"
    ((ref, message),) = read.refused.items()
    assert ref.namespace == "team-b"
    assert "already defined in namespace 'team-a'" in message


def test_an_object_the_loader_refuses_is_named_with_its_reason() -> None:
    bad = _app("bad", "team-a", created="2024-01-01T00:00:00Z", path="../escape")
    good = _app("good", "team-a", created="2024-01-02T00:00:00Z")
    read = read_objects([bad, good])
    assert [a.name for a in read.config.applications] == ["good"]
    ((ref, message),) = read.refused.items()
    assert ref.name == "bad"
    assert "'..'" in message


def test_status_body_has_the_printer_column_paths_and_kstatus_conditions() -> None:
    status = AppStatus(
        sync=SyncState(SyncStatus.SYNCED, "a" * 40),
        health=HealthState(HealthStatus.HEALTHY, ""),
        resources=[
            {"kind": "ConfigMap", "name": f"c{i}", "sync": "Synced", "health": "Healthy"} for i in range(150)
        ],
        operation={
            "phase": "Succeeded",
            "message": "",
            "commit": "a" * 40,
            "startedAt": 10.0,
            "finishedAt": 20.0,
        },
    )
    mark_result(status, now=1_700_000_000.0, ready=True, reason="Synced", message="all synced", stalled=False)
    body = status_body(status, 7, now=0.0)
    assert body["sync"] == {"status": "Synced", "revision": "a" * 40}
    assert body["health"]["status"] == "Healthy"
    assert body["observedGeneration"] == 7
    ready = next(c for c in body["conditions"] if c["type"] == "Ready")
    assert ready == {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 7,
        "reason": "Synced",
        "message": "all synced",
        "lastTransitionTime": "2023-11-14T22:13:20Z",
    }
    assert {c["type"] for c in body["conditions"]} == {"Ready", "Reconciling", "Stalled"}
    assert all(c["reason"] for c in body["conditions"])
    assert body["operation"]["phase"] == "Succeeded"
    assert body["operation"]["finishedAt"] == rfc3339(20.0)
    assert len(body["resources"]) == MAX_RESOURCES
    assert body["resourceCount"] == 150


def test_an_app_not_reconciled_yet_says_so_and_a_refused_one_is_stalled() -> None:
    body = status_body(AppStatus(), 1, now=0.0)
    ready = next(c for c in body["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    refused = refused_body("path '../x' must not contain '..'", 2, now=0.0)
    stalled = next(c for c in refused["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["observedGeneration"]) == ("True", 2)
    assert "'..'" in stalled["message"]


def _provider(name: str, namespace: str, *, created: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "OIDCProvider",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"{namespace}-{name}",
            "generation": 2,
            "creationTimestamp": created,
        },
        "spec": {"issuer": "https://sso.example.com", "clientID": "gitward", **spec},
    }


def test_the_other_kinds_objects_are_each_read_or_refused_with_why() -> None:
    good = _provider("sso", "gitward", created="2024-01-01T00:00:00Z", secretRef={"name": "oidc"})
    copy = _provider("sso", "team-b", created="2024-02-01T00:00:00Z", secretRef={"name": "oidc"})
    by_file = _provider("files", "gitward", created="2024-01-01T00:00:00Z", clientSecretFile="/s")
    app = _app("web", "gitward", created="2024-01-01T00:00:00Z")
    read = read_objects([good, copy, by_file, app])
    assert [p.name for p in read.config.oidc_providers] == ["sso"]
    why = {(ref.namespace, ref.name): message for ref, message in read.others.items()}
    assert why[("gitward", "sso")] == ""
    assert "already defined in namespace 'gitward'" in why[("team-b", "sso")]
    assert "clientSecretFile names a file" in why[("gitward", "files")]
    assert set(why) == {("gitward", "sso"), ("team-b", "sso"), ("gitward", "files")}  # apps apart
    # A rule on the whole config (no document position) refuses that object alone, not the config.
    assert not unreadable(read.config)


def test_an_other_kinds_object_says_ready_or_why_it_was_refused() -> None:
    accepted = object_body("", 4, now=0.0)
    assert accepted["observedGeneration"] == 4
    ready = {c["type"]: c for c in accepted["conditions"]}
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("True", "Accepted")
    assert ready["Stalled"]["status"] == "False"
    refused = {c["type"]: c for c in object_body("clientSecretFile names a file", 5, now=0.0)["conditions"]}
    assert (refused["Ready"]["status"], refused["Stalled"]["status"]) == ("False", "True")
    assert refused["Stalled"]["message"] == "clientSecretFile names a file"
    assert refused["Ready"]["observedGeneration"] == 5
