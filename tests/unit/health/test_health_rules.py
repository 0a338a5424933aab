"""HealthCheck objects (CEL rules), plugins and the order between them (``health.HealthRules``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gitward.core.status import Health, HealthStatus
from gitward.health import HealthRules, Source, load_plugins
from gitward.model import load_objects
from gitward.model.healthcheck import HealthCheck

WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "default", "generation": 2},
    "spec": {"size": 3},
}


def widget(status: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    obj = {**WIDGET, "metadata": {**WIDGET["metadata"], **metadata}}
    if status is not None:
        obj["status"] = status
    return obj


def healthcheck(
    name: str, rules: list[dict[str, Any]], *, group: str = "example.com", kind: str = "Widget"
) -> Any:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "HealthCheck",
        "metadata": {"name": name},
        "spec": {"group": group, "kind": kind, "rules": rules},
    }


WIDGET_RULES = [
    {"health": "Suspended", "when": "has(spec.paused) && spec.paused"},
    {
        "health": "Degraded",
        "conditions": [{"type": "Ready", "status": "False", "reason": "Broken"}],
        "message": "broken: {{ conditions.Ready.message }}",
    },
    {"health": "Progressing", "when": "status.observedGeneration < metadata.generation"},
    {
        "health": "Healthy",
        "when": "status.phase == 'Running'",
        "message": "{{ status.ready }} of {{ spec.size }} ready, {{ status.nothing }}",
    },
]


def rules_of(*documents: Any, plugins: Any = None) -> HealthRules:
    config = load_objects(documents)
    assert not config.errors, config.errors
    rules = HealthRules(plugins)
    rules.configure(config.health_checks)
    return rules


@pytest.mark.parametrize(
    ("obj", "expected", "rule", "message"),
    [
        (
            widget({"phase": "Running", "observedGeneration": 2, "ready": 3}),
            "Healthy",
            "rule 4",
            "3 of 3 ready",
        ),
        (widget({"phase": "Running", "observedGeneration": 1}), "Progressing", "rule 3", ""),
        (
            widget(
                {"conditions": [{"type": "Ready", "status": "False", "reason": "Broken", "message": "x"}]}
            ),
            "Degraded",
            "rule 2",
            "broken: x",
        ),
        ({**widget({"phase": "Running"}), "spec": {"paused": True}}, "Suspended", "rule 1", ""),
    ],
)
def test_declared_rules_decide_in_order(obj: dict[str, Any], expected: str, rule: str, message: str) -> None:
    decision = rules_of(healthcheck("widgets", WIDGET_RULES)).explain(obj)
    assert decision.health.status is HealthStatus(expected)
    assert (decision.source, decision.name, decision.rule) == (Source.HEALTHCHECK, "widgets", rule)
    assert message in decision.health.message


def test_a_missing_field_shows_as_unset_in_the_message() -> None:
    decision = rules_of(healthcheck("widgets", WIDGET_RULES)).explain(
        widget({"phase": "Running", "observedGeneration": 2})
    )
    assert decision.health.message == "<unset> of 3 ready, <unset>"


def test_no_matching_rule_passes_to_the_generic_rules_and_says_so() -> None:
    decision = rules_of(healthcheck("widgets", WIDGET_RULES)).explain(widget({"phase": "Starting"}))
    assert decision.source is Source.GENERIC
    assert decision.health.status is HealthStatus.HEALTHY
    assert decision.passed == ("HealthCheck widgets: no rule matched",)


def test_a_rule_that_cannot_be_evaluated_is_unknown_naming_the_check_and_expression() -> None:
    rules = rules_of(healthcheck("widgets", [{"health": "Healthy", "when": "status.phase + 1 == 2"}]))
    decision = rules.explain(widget({"phase": "Running"}))
    assert decision.health.status is HealthStatus.UNKNOWN
    assert "HealthCheck widgets rule 1" in decision.health.message
    assert "status.phase + 1 == 2" in decision.health.message


def test_a_when_that_is_not_a_bool_is_unknown() -> None:
    rules = rules_of(healthcheck("widgets", [{"health": "Healthy", "when": "status.phase"}]))
    assert "not a bool" in rules.explain(widget({"phase": "Running"})).health.message


def test_a_user_healthcheck_overrides_a_builtin_check() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "generation": 1},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 0},
    }
    assert rules_of().assess(deployment).status is HealthStatus.PROGRESSING
    override = healthcheck("deploys", [{"health": "Healthy"}], group="apps", kind="Deployment")
    decision = rules_of(override).explain(deployment)
    assert (decision.health.status, decision.source) == (HealthStatus.HEALTHY, Source.HEALTHCHECK)
    assert decision.expression == "(no matcher: always)"


def test_two_healthchecks_for_one_kind_are_tried_by_name() -> None:
    second = healthcheck("b-widgets", [{"health": "Degraded", "when": "status.phase == 'Running'"}])
    first = healthcheck("a-widgets", [{"health": "Suspended", "when": "status.phase == 'Idle'"}])
    rules = rules_of(second, first)
    assert rules.explain(widget({"phase": "Idle"})).name == "a-widgets"
    decision = rules.explain(widget({"phase": "Running"}))
    assert (decision.name, decision.passed) == ("b-widgets", ("HealthCheck a-widgets: no rule matched",))


def test_configure_replaces_the_rules_and_says_which_kinds_changed() -> None:
    rules = rules_of(healthcheck("widgets", [{"health": "Degraded"}]))
    assert rules.assess(widget()).status is HealthStatus.DEGRADED
    same = load_objects([healthcheck("widgets", [{"health": "Degraded"}])]).health_checks
    assert rules.configure(same) == frozenset()
    assert rules.configure([]) == {("example.com", "Widget")}
    assert rules.assess(widget()).status is HealthStatus.HEALTHY


def test_a_refused_healthcheck_keeps_its_last_good_rules() -> None:
    rules = rules_of(healthcheck("widgets", [{"health": "Degraded"}]))
    config = load_objects([healthcheck("widgets", [{"health": "Healthy", "when": "status.("}])])
    rules.configure(config.health_checks, refused=config.failed("HealthCheck"))
    assert rules.assess(widget()).status is HealthStatus.DEGRADED
    rules.configure([], refused=frozenset())
    assert rules.assess(widget()).status is HealthStatus.HEALTHY


# -- refused at load --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"health": "Healthy", "when": "status.phase =="}], "does not compile"),
        ([{"health": "Healthy", "when": "stauts.phase == 'x'"}], "reads stauts, which is not defined"),
        ([{"health": "Healthy", "message": "{{ status.( }}"}], "does not compile"),
        ([{"health": "Healthy", "message": "{{ status.phase"}], "without its closing"),
        ([{"health": "Missing", "when": "true"}], "spec.rules[0].health"),
        ([{"health": "Healthy"}, {"health": "Degraded", "when": "true"}], "always matches"),
        ([{"health": "Healthy", "when": "true", "whenever": "x"}], "unknown field"),
        ([], "spec.rules"),
    ],
)
def test_bad_healthchecks_are_refused_at_load_naming_them(rules: list[Any], expected: str) -> None:
    config = load_objects([healthcheck("widgets", rules)])
    assert not config.health_checks
    [error] = config.errors
    assert (error.kind, error.name) == ("HealthCheck", "widgets")
    assert expected in error.message
    if "when" in str(rules) and "does not compile" in expected:
        assert "status.phase ==" in error.message


def test_macro_variables_are_not_taken_for_unknown_variables() -> None:
    rule = {"health": "Healthy", "when": "status.items.all(i, i.ok) && status.items.exists(x, x.ok)"}
    [check] = load_objects([healthcheck("widgets", [rule])]).health_checks
    assert isinstance(check, HealthCheck)


# -- plugins ---------------------------------------------------------------------------------------


class FakeEntryPoint:
    """A stand-in for importlib.metadata.EntryPoint in these timing tests; the real discovery of an
    installed package is tested in tests/integration/engine/test_engine_health_rules.py."""

    def __init__(self, name: str, table: Any) -> None:
        self.name, self.value, self._table = name, f"{name}_module:CHECKS", table

    def load(self) -> Any:
        if isinstance(self._table, Exception):
            raise self._table
        return self._table


def test_a_plugin_decides_its_kind_and_may_pass() -> None:
    def widget_check(obj: dict[str, Any]) -> Health | None:
        if obj.get("status", {}).get("phase") == "Idle":
            return None
        return Health(HealthStatus.SUSPENDED, "by plugin")

    plugins = load_plugins([FakeEntryPoint("acme", {"Widget.example.com": widget_check})])
    rules = rules_of(plugins=plugins)
    decision = rules.explain(widget({"phase": "Busy"}))
    assert (decision.health.status, decision.source, decision.name) == (
        HealthStatus.SUSPENDED,
        Source.PLUGIN,
        "acme",
    )
    idle = rules.explain(widget({"phase": "Idle"}))
    assert idle.source is Source.GENERIC
    assert idle.passed == ("plugin acme: no opinion (returned None)",)


def test_a_healthcheck_comes_before_a_plugin() -> None:
    plugins = load_plugins(
        [FakeEntryPoint("acme", {"Widget.example.com": lambda obj: Health(HealthStatus.DEGRADED)})]
    )
    rules = rules_of(healthcheck("widgets", [{"health": "Healthy", "when": "true"}]), plugins=plugins)
    assert rules.explain(widget()).source is Source.HEALTHCHECK


def test_a_plugin_comes_before_a_builtin_check() -> None:
    plugins = load_plugins([FakeEntryPoint("acme", {"Pod": lambda obj: Health(HealthStatus.SUSPENDED)})])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Failed"}}
    assert rules_of(plugins=plugins).assess(pod).status is HealthStatus.SUSPENDED


def test_a_raising_plugin_makes_the_object_unknown_with_its_error() -> None:
    def broken(obj: dict[str, Any]) -> Health:
        raise RuntimeError("kaput")

    rules = rules_of(plugins=load_plugins([FakeEntryPoint("acme", {"Widget.example.com": broken})]))
    health = rules.assess(widget())
    assert health.status is HealthStatus.UNKNOWN
    assert health.message == "health plugin acme: raised RuntimeError: kaput"


def test_a_plugin_returning_something_else_is_unknown() -> None:
    plugins = load_plugins([FakeEntryPoint("acme", {"Widget.example.com": lambda obj: "Healthy"})])
    assert "returned str" in rules_of(plugins=plugins).assess(widget()).message


def test_a_slow_plugin_is_cut_off_and_never_queues_calls() -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow(obj: dict[str, Any]) -> Health:
        calls.append(1)
        release.wait(30)
        return Health(HealthStatus.HEALTHY)

    plugins = load_plugins([FakeEntryPoint("acme", {"Widget.example.com": slow})], timeout=0.05)
    rules = rules_of(plugins=plugins)
    first = rules.assess(widget())
    assert (first.status, first.message) == (
        HealthStatus.UNKNOWN,
        "health plugin acme: took longer than 0.05s",
    )
    second = rules.assess(widget())
    assert "an earlier call is still running" in second.message
    assert len(calls) == 1
    release.set()


def test_a_plugin_gets_its_own_copy_of_the_object() -> None:
    def meddling(obj: dict[str, Any]) -> Health:
        obj["metadata"]["name"] = "changed"
        return Health(HealthStatus.HEALTHY)

    obj = widget()
    plugins = load_plugins([FakeEntryPoint("acme", {"Widget.example.com": meddling})])
    rules_of(plugins=plugins).assess(obj)
    assert obj["metadata"]["name"] == "w"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (ImportError("no module named acme_module"), "ImportError"),
        (["Widget"], "not a mapping"),
        ({"Widget.example.com": "not callable"}, "not a kind mapped to a callable"),
        ({"not a kind!": lambda obj: None}, "is not a kind"),
    ],
)
def test_a_broken_plugin_is_reported_and_the_others_load(table: Any, expected: str) -> None:
    good = FakeEntryPoint("good", {"Widget.example.com": lambda obj: Health(HealthStatus.SUSPENDED)})
    loaded = load_plugins([FakeEntryPoint("bad", table), good])
    assert loaded.names == ("good",)
    [error] = loaded.errors
    assert "health plugin bad" in error
    assert expected in error
