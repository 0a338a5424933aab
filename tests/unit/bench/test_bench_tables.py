"""The scale benchmarks' bookkeeping: which runs each contender gets, the workload's objects, and how
the tables put every contender's "applied" and "ready" side by side. No cluster is started."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from bench import bench_scale, scale_report, workload
from bench.bench_scale import Options, Results


def _row(contender: str, apps: int, **fields: Any) -> dict[str, Any]:
    return {
        "contender": contender,
        "apps": apps,
        "cpu_seconds": 1.0,
        "peak_rss_mb": 100.0,
        "requests": {},
        **fields,
    }


ROWS = [
    _row("gitward", 100, wall_seconds=4.0, ready_seconds=25.0),
    _row("kubectl", 100, wall_seconds=2.0, ready_seconds=20.0),
    _row("argocd", 100, settings="tuned: x", wall_seconds=8.0, ready_seconds=30.0, ready="100/100"),
    _row(
        "flux (tuned)", 100, settings="tuned: y, wait off", mode="applied", wall_seconds=6.0, ready="100/100"
    ),
    _row(
        "flux (tuned)", 100, settings="tuned: y, wait on", mode="ready", ready_seconds=40.0, ready="100/100"
    ),
    _row(
        "flux", 100, settings="default settings, wait on", mode="ready", ready_seconds=900.0, ready="60/100"
    ),
]


def _lines(table: list[str]) -> dict[str, list[str]]:
    """Each data line's cells, keyed by contender and settings."""
    out = {}
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[f"{cells[1]} / {cells[2]}"] = cells
    return out


def test_every_contender_has_its_applied_and_ready_against_kubectl_of_the_same_meaning() -> None:
    rows = _lines(scale_report.b1_rows(ROWS))
    assert rows["gitward / defaults"][3:5] == ["4.00", "25.00"]
    assert rows["gitward / defaults"][8] == "2.00x / 1.25x"
    assert rows["Argo CD / tuned"][8] == "4.00x / 1.50x"
    assert rows["Flux (tuned) / tuned, wait off"][3:5] == ["6.00", "-"]
    assert rows["Flux (tuned) / tuned, wait on"][3:5] == ["-", "40.00"]
    assert rows["Flux (tuned) / tuned, wait on"][8] == "- / 2.00x"


def test_a_run_that_did_not_finish_says_how_far_it_got_and_gets_no_ratio() -> None:
    rows = _lines(scale_report.b1_rows(ROWS))
    cells = rows["Flux / default settings, wait on"]
    assert cells[4] == "not finished: 60/100 after 900.00 s"
    assert cells[8] == "- / -"


def test_contenders_are_listed_in_a_fixed_order_kubectl_first() -> None:
    names = [line.split("|")[2].strip() for line in scale_report.b1_rows(ROWS)[2:]]
    assert names == ["kubectl", "gitward", "Argo CD", "Flux (tuned)", "Flux (tuned)", "Flux"]


def test_a_peer_that_could_not_run_is_a_row_that_says_why() -> None:
    table = scale_report.b1_rows([{"contender": "argocd", "apps": 10, "skipped": "Argo CD is not built"}])
    assert "not run: Argo CD is not built" in table[2]


def test_plot_series_take_flux_applied_from_wait_off_and_ready_from_wait_on() -> None:
    series = scale_report.b1_series(ROWS)
    assert series["flux (tuned)"] == {"applied": [(100, 6.0)], "ready": [(100, 40.0)]}
    assert "flux" not in series  # not finished: no point
    assert series["gitward"] == {"applied": [(100, 4.0)], "ready": [(100, 25.0)]}


def test_latency_tables_put_each_contender_in_a_column() -> None:
    def latency(contender: str, p50: float) -> dict[str, Any]:
        sample = {"latency": p50, "push": 0.01, "webhook": 0.1, "fetches": 1.0}
        figures = {"p50": p50, "p99": p50, "max": p50, "fetches_per_commit": [1.0]}
        return {"contender": contender, "apps": 10, "clusters": 1, "samples": [sample], **figures}

    results = Results(b3=latency("gitward", 0.05), peers={"argocd": {"b3": latency("argocd", 1.5)}})
    text = scale_report.b3_table(results, Options(sizes=[10], apps=10), "quiet.")
    assert "| measure | gitward | Argo CD (tuned) |" in text
    assert "| p50 | 0.050 s | 1.500 s |" in text


def test_flux_runs_default_with_wait_then_tuned_without_and_with() -> None:
    runs = bench_scale.flux_runs(Options(sizes=[10], apps=10))
    assert [(t.label, wait) for t, wait in runs] == [
        ("default settings", True),
        ("tuned", False),
        ("tuned", True),
    ]
    assert runs[1][0].args("kustomize-controller")[0] == "--concurrent=8"
    only_tuned = bench_scale.flux_runs(Options(sizes=[10], apps=10, flux=False, concurrency=4))
    assert [t.args("source-controller")[0] for t, _ in only_tuned] == ["--concurrent=4", "--concurrent=4"]


def test_gitward_gets_budget_flags_only_when_the_budget_is_not_its_default() -> None:
    assert bench_scale.gitward_args(Options(sizes=[10], apps=10)) == []
    assert bench_scale.gitward_args(Options(sizes=[10], apps=10, concurrency=16, qps=200, burst=400)) == [
        "--concurrency=16",
        "--kube-qps=200",
        "--kube-burst=400",
    ]


def test_the_b7_workload_is_one_configmap_and_one_deployment_per_app() -> None:
    objects = workload.app_objects(7, kinds=workload.B7_KINDS)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Deployment"]
    manifest = list(yaml.safe_load_all(workload.kubectl_manifest(3, kinds=workload.B7_KINDS)))
    assert [o["kind"] for o in manifest] == ["Namespace"] * 3 + ["ConfigMap", "Deployment"] * 3
    assert len(workload.app_objects(7)) == 4


def test_old_results_without_the_new_fields_still_load_for_the_report() -> None:
    results = Results(**{"b1": ROWS, "b2": {}, "b3": {}, "b4": {}, "b5": {}, "notes": [], "options": {}})
    assert results.peers == {}
    assert results.b7 == {}
    assert "B1 cold sync" in scale_report.tables(results, Options(sizes=[100], apps=100), "quiet.")["b1"]


def test_ten_thousand_apps_get_kwok_nodes_enough_for_their_pods() -> None:
    assert bench_scale.extra_nodes(1000) == []  # the cluster's 3 nodes hold 3,000 pods
    nodes = bench_scale.extra_nodes(10_000)
    room = (len(nodes) + bench_scale.BASE_NODES) * bench_scale.NODE_PODS
    assert room >= 10_000 + 500
    assert all(n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake" for n in nodes)
    assert len({n["metadata"]["name"] for n in nodes}) == len(nodes)


def test_an_argocd_run_that_applied_everything_but_did_not_get_all_ready_says_both() -> None:
    row = _row("argocd", 10, wall_seconds=5.0, ready_seconds=None, ready="8/10", applied="10/10")
    row["waited_seconds"] = 600.0
    cells = _lines(scale_report.b1_rows([row]))["Argo CD / -"]
    assert cells[3:5] == ["5.00", "not finished: 8/10 after 600.00 s"]


def test_a_section_names_the_commit_of_gitward_src_never_its_local_path(tmp_path: Path) -> None:
    checkout = tmp_path / "gw-checkout"
    checkout.mkdir()
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (checkout / "a.txt").write_text("a\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True)

    b3 = {"contender": "gitward", "apps": 10, "clusters": 1, "p50": 0.05, "p99": 0.05, "max": 0.05}
    b3["samples"] = [{"latency": 0.05}]
    text = scale_report.b3_table(Results(b3=b3), Options(sizes=[10], apps=10, source=checkout), "quiet.")
    assert f"--gitward-src DIR` (DIR: a checkout of commit {head.stdout.strip()})" in text
    assert str(checkout) not in text
    (checkout / "a.txt").write_text("changed\n")
    assert scale_report.source_commit(checkout).endswith("+changes")
