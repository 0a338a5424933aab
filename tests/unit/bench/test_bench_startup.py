"""The start-up benchmark's bookkeeping: which libraries make the floor under ``gitward run``, and the
table of an old result that predates a row. No cluster is started."""

from __future__ import annotations

import sys
from typing import Any

from bench import bench_startup
from bench.bench_startup import Variant


def _numbers(p50: float) -> dict[str, float]:
    return {"p50": p50, "p95": p50 + 0.01, "n": 3}


def _result(rows: dict[str, float]) -> dict[str, Any]:
    return {
        "runs": 3,
        "apps": 3,
        "variants": ["abc1234"],
        "results": {"abc1234": {key: _numbers(value) for key, value in rows.items()}},
        "commit": "abc1234",
        "cores": 2,
        "load_before": 0.1,
        "load_after": 0.2,
    }


def test_the_floor_is_the_libraries_gitward_run_loads_and_no_gitward_or_standard_module() -> None:
    names = bench_startup.run_libraries(Variant("current", None).env())
    roots = {name.partition(".")[0] for name in names}
    assert {"fastapi", "sqlalchemy", "pygit2", "uvicorn"} <= roots  # what serving and syncing need
    assert "gitward" not in roots
    assert not roots & set(sys.stdlib_module_names)
    assert len(names) == len(set(names))


def test_the_libraries_row_sits_under_the_commands_and_an_older_result_without_it_still_reports() -> None:
    full = bench_startup.report(
        _result({"import": 0.07, "help": 0.16, "app_list": 0.23, "libraries": 0.76, "serving": 1.15}),
        "./dev bench startup",
    )
    lines = [line for line in full.splitlines() if line.startswith("| ")]
    labels = [line.split("|")[1].strip() for line in lines[1:]]
    assert (
        labels.index("the third-party modules `gitward run` loads, imported alone (no gitward module)") == 3
    )
    assert "| 0.76 s | 0.77 s |" in full

    old = bench_startup.report(
        _result({"import": 0.07, "help": 0.16, "app_list": 0.23}), "./dev bench startup"
    )
    assert "imported alone" not in old
    assert "| `gitward --help` | 0.16 s | 0.17 s |" in old
    assert "`gitward run`: start to" not in old  # rows it never measured are left out, not zero
