"""The benchmark peers' settings and readings: which flags and environment each configuration gives
Flux and Argo CD, how an Application's status reads as applied and ready, how their request counters
are read from a Prometheus page. No process is started."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from devtools import argocd, flux, peerproc


def test_flux_defaults_pass_no_flag_so_each_controller_keeps_its_own() -> None:
    tuning = flux.Tuning()
    assert tuning.args("kustomize-controller") == []
    assert tuning.args("source-controller") == []
    assert tuning.describe() == "default settings"


def test_tuned_flux_gets_the_budget_in_both_controllers_and_ssa_workers_only_in_kustomize() -> None:
    tuning = flux.tuned(concurrency=8, qps=500, burst=1000)
    assert tuning.args("kustomize-controller") == [
        "--concurrent=8",
        "--concurrent-ssa=8",
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
    ]
    assert tuning.args("source-controller") == [
        "--concurrent=8",
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
    ]


def test_tuned_argocd_follows_the_ha_guide_and_the_budget() -> None:
    tuning = argocd.tuned(apps=1000, concurrency=8, qps=500, burst=1000, resync="60s")
    args = tuning.controller_args()
    assert "--status-processors=50" in args
    assert "--operation-processors=25" in args
    assert tuning.controller_env()["ARGOCD_K8S_CLIENT_QPS"] == "500"
    assert tuning.controller_env()["ARGOCD_K8S_CLIENT_BURST"] == "1000"
    assert tuning.controller_env()["ARGOCD_RECONCILIATION_TIMEOUT"] == "60s"
    assert tuning.repo_server_args() == ["--parallelismlimit=8"]


@pytest.mark.parametrize(("apps", "status", "operation"), [(100, 50, 25), (1000, 50, 25), (10_000, 500, 250)])
def test_argocd_processors_grow_with_the_fleet_above_a_thousand_apps(
    apps: int, status: int, operation: int
) -> None:
    tuning = argocd.tuned(apps=apps, concurrency=8, qps=500, burst=1000)
    assert (tuning.status_processors, tuning.operation_processors) == (status, operation)


def test_argocd_defaults_are_its_own() -> None:
    tuning = argocd.Tuning()
    assert tuning.controller_args()[:2] == ["--status-processors=20", "--operation-processors=10"]
    assert tuning.controller_env()["ARGOCD_K8S_CLIENT_QPS"] == "50"


def _app(sync: str | None, health: str | None, phase: str | None) -> dict[str, object]:
    status: dict[str, object] = {}
    if sync:
        status["sync"] = {"status": sync}
    if health:
        status["health"] = {"status": health}
    if phase:
        status["operationState"] = {"phase": phase}
    return {"metadata": {"name": "app-0001"}, "status": status}


@pytest.mark.parametrize(
    ("sync", "health", "phase", "expected"),
    [
        (None, None, None, (False, False)),
        ("Synced", "Progressing", "Succeeded", (True, False)),
        ("Synced", "Healthy", "Succeeded", (True, True)),
        ("Synced", "Healthy", None, (False, False)),  # no sync ran: nothing was applied by Argo CD
        ("OutOfSync", "Healthy", "Succeeded", (False, False)),
        ("Synced", "Healthy", "Running", (False, False)),
    ],
)
def test_an_application_is_applied_after_a_succeeded_sync_and_ready_once_healthy_too(
    sync: str | None, health: str | None, phase: str | None, expected: tuple[bool, bool]
) -> None:
    assert argocd.app_state(_app(sync, health, phase)) == expected


def test_progress_records_when_the_last_app_became_applied_and_ready() -> None:
    progress = argocd.Progress({"a", "b"})
    progress.observe({**_app("Synced", "Progressing", "Succeeded"), "metadata": {"name": "a"}}, 1.0)
    progress.observe({**_app("Synced", "Healthy", "Succeeded"), "metadata": {"name": "b"}}, 2.0)
    assert progress.all_applied_at == 2.0
    assert progress.all_ready_at is None
    assert progress.pending() == {"a": "sync Synced, health Progressing, operation Succeeded"}
    progress.observe({**_app("Synced", "Healthy", "Succeeded"), "metadata": {"name": "a"}}, 5.0)
    progress.observe({**_app("Synced", "Healthy", "Succeeded"), "metadata": {"name": "other"}}, 6.0)
    assert (progress.all_applied_at, progress.all_ready_at) == (2.0, 5.0)


def test_the_destination_secret_carries_the_kubeconfig_certificates(tmp_path: Path) -> None:
    for name in ("ca.crt", "admin.crt", "admin.key"):
        (tmp_path / name).write_text(f"PEM of {name}")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "clusters": [
                    {
                        "cluster": {
                            "server": "https://127.0.0.1:6443",
                            "certificate-authority": str(tmp_path / "ca.crt"),
                        }
                    }
                ],
                "users": [
                    {
                        "user": {
                            "client-certificate": str(tmp_path / "admin.crt"),
                            "client-key": str(tmp_path / "admin.key"),
                        }
                    }
                ],
            }
        )
    )
    objects = argocd.setup_objects(kubeconfig, "60s")
    secret = next(o for o in objects if o["metadata"]["name"] == argocd.CLUSTER_SECRET)
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert secret["stringData"]["server"] == "https://127.0.0.1:6443"
    tls = json.loads(secret["stringData"]["config"])["tlsClientConfig"]
    assert base64.b64decode(tls["keyData"]) == b"PEM of admin.key"
    config = next(o for o in objects if o["metadata"]["name"] == "argocd-cm")
    assert config["data"]["timeout.reconciliation"] == "60s"
    assert config["data"]["cluster.inClusterEnabled"] == "false"
    assert all(
        o["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "argocd"
        for o in objects
        if o["kind"] in ("ConfigMap", "Secret")
    )


def test_an_application_syncs_its_path_with_prune_self_heal_and_its_own_namespace() -> None:
    app = argocd.application("app-0001", "http://127.0.0.1:1/apps.git", "apps/app-0001", "https://x", "ns-1")
    assert app["spec"]["source"] == {
        "repoURL": "http://127.0.0.1:1/apps.git",
        "targetRevision": "main",
        "path": "apps/app-0001",
    }
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true"]
    assert app["metadata"]["annotations"][argocd.GENERATE_PATHS] == "."


METRICS = """# HELP rest_client_requests_total Number of HTTP requests, by status code, method, and host.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 120
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 4
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="PATCH"} 400
rest_client_requests_total{code="409",host="127.0.0.1:6443",method="PATCH"} 2
rest_client_requests_total_other{method="GET"} 99
workqueue_depth{name="kustomization"} 0
"""


def test_request_counters_are_summed_by_method_and_other_metrics_ignored() -> None:
    counts = peerproc.counter_by_label(METRICS, "rest_client_requests_total", "method")
    assert counts == {"GET": 120.0, "POST": 4.0, "PATCH": 402.0}
    assert peerproc.requests_by_verb(peerproc.minus(counts, {"GET": 20.0, "POST": 4.0})) == {
        "get": 100,
        "patch": 402,
    }


def test_usages_add_up_cpu_children_and_memory() -> None:
    total = peerproc.total_usage(
        [peerproc.ProcessUsage(1.0, 100.0, 80.0, 0.5), peerproc.ProcessUsage(2.0, 50.0, 40.0, 0.0)]
    )
    assert (total.total_cpu_seconds, total.peak_rss_mb, total.rss_mb) == (3.5, 150.0, 120.0)
