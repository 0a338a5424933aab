"""Table-driven health checks: every case in testdata/<kind>.yaml is one test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.core.status import Health, HealthStatus
from gitward.health import aggregate, health_of

TESTDATA = Path(__file__).parent / "testdata"


def _cases() -> list[Any]:
    out = []
    for path in sorted(TESTDATA.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            out.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return out


@pytest.mark.parametrize("case", _cases())
def test_health_fixture(case: dict[str, Any]) -> None:
    health = health_of(case["object"])
    assert health.status is HealthStatus(case["expect"]), health.message
    if "message" in case:
        assert case["message"] in health.message


def test_every_builtin_kind_has_fixtures() -> None:
    from gitward.health import BUILTIN_CHECKS

    kinds = set()
    for path in TESTDATA.glob("*.yaml"):
        kinds |= {c["object"]["kind"] for c in yaml.safe_load(path.read_text())}
    assert {kind for _, kind in BUILTIN_CHECKS} <= kinds


def test_missing_object() -> None:
    assert health_of(None).status is HealthStatus.MISSING


def test_custom_check_takes_precedence() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}

    def always_suspended(_: Any) -> Health:
        return Health(HealthStatus.SUSPENDED, "plugin")

    assert health_of(obj, checks={("apps", "Deployment"): always_suspended}).message == "plugin"
    assert health_of(obj, checks={("apps", "StatefulSet"): always_suspended}).message != "plugin"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], HealthStatus.HEALTHY),
        ([HealthStatus.HEALTHY, HealthStatus.HEALTHY], HealthStatus.HEALTHY),
        ([HealthStatus.HEALTHY, HealthStatus.SUSPENDED], HealthStatus.SUSPENDED),
        ([HealthStatus.SUSPENDED, HealthStatus.PROGRESSING], HealthStatus.PROGRESSING),
        ([HealthStatus.PROGRESSING, HealthStatus.MISSING], HealthStatus.MISSING),
        ([HealthStatus.DEGRADED, HealthStatus.MISSING, HealthStatus.HEALTHY], HealthStatus.DEGRADED),
    ],
)
def test_aggregate_is_worst(statuses: list[HealthStatus], expected: HealthStatus) -> None:
    assert aggregate(Health(s) for s in statuses).status is expected


def test_aggregate_message_from_worst() -> None:
    got = aggregate(
        [
            Health(HealthStatus.PROGRESSING, "rolling"),
            Health(HealthStatus.DEGRADED, ""),
            Health(HealthStatus.DEGRADED, "crash"),
        ]
    )
    assert got == Health(HealthStatus.DEGRADED, "crash")
