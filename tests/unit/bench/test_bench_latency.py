"""B2's loop is the same for every contender: commit the app's new revision, push, announce, poll.
Driven here with a real Git repository and a stand-in contender whose cluster answers at once, to
check what each sample records (no timing is asserted)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from bench import bench_scale, workload
from devtools.gitservers import WorkRepo, git


@dataclass
class InstantKube:
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def wait_for(
        self, kind: str, namespace: str, name: str, check: Callable[[dict[str, Any]], bool], timeout: float
    ) -> float:
        self.seen.append((kind, namespace, name))
        return 0.0


@dataclass
class StandIn:
    repo: WorkRepo
    apps: int
    kinds: tuple[str, ...]
    kubes: list[InstantKube]
    contender: str = "stand-in"
    announced: list[int] = field(default_factory=list)
    fetches: float = 0.0

    def kube_of(self, index: int) -> InstantKube:
        return self.kubes[0]

    def namespace(self, index: int) -> str:
        return f"standin-{index}"

    def announce(self, index: int) -> float:
        self.announced.append(index)
        self.fetches += 1  # the contender fetched once for this push
        return 0.0

    def settle(self, quiet: float, timeout: float) -> None:
        return None

    def counters(self) -> dict[str, float]:
        return {"fetches": self.fetches}


def test_each_commit_changes_one_app_in_the_fleet_s_own_kinds_and_counts_per_commit(tmp_path: Path) -> None:
    repo = workload.create_fleet_repo(tmp_path / "git", 5, kinds=workload.B7_KINDS)
    fleet = StandIn(repo=repo, apps=5, kinds=workload.B7_KINDS, kubes=[InstantKube()])
    result = bench_scale.change_latency(fleet, 3)
    assert fleet.announced == [bench_scale._spread(3, 5)[k] for k in range(3)]
    assert result["fetches_per_commit"] == [1.0]
    assert "renders_per_commit" not in result  # a contender that does not count renders has no row
    assert [s["app"] for s in result["samples"]] == [workload.app_name(i) for i in fleet.announced]
    assert {kind for kind, _, _ in fleet.kubes[0].seen} == {"ConfigMap"}
    assert [ns for _, ns, _ in fleet.kubes[0].seen] == [f"standin-{i}" for i in fleet.announced]
    last = fleet.announced[-1]
    text = git("show", f"HEAD:{workload.app_path(last)}/objects.yaml", cwd=repo.work)
    objects = list(yaml.safe_load_all(text))
    assert [o["kind"] for o in objects] == ["ConfigMap", "Deployment"]
    assert objects[0]["data"]["revision"] == "1002"
    assert git("rev-parse", "main", cwd=repo.bare) == git("rev-parse", "HEAD", cwd=repo.work)
