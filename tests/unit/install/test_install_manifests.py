"""The install builder: least privilege for the controller, the apply role apart, a hardened workload."""

from __future__ import annotations

from typing import Any

from gitward.cli.run import DEFAULT_LISTEN, parse_listen
from gitward.install import Settings, build, refusal
from gitward.install.manifests import APPLY_ROLE, CONTROLLER_ROLE, PORT, REPLICAS_NEED_POSTGRESQL


def _find(manifests: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def test_the_controller_role_reads_gitward_kinds_writes_status_and_events_only() -> None:
    install = build(Settings(namespace="ops"))
    role = _find(install.access, "ClusterRole", CONTROLLER_ROLE)
    for rule in role["rules"]:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
        writes = set(rule["verbs"]) - {"get", "list", "watch"}
        if writes:
            assert all(r.endswith("/status") or r == "events" for r in rule["resources"]), rule
        assert "secrets" not in rule["resources"]
    crd_plurals = {c["spec"]["names"]["plural"] for c in install.crds}
    readable = {r for rule in role["rules"] if "watch" in rule["verbs"] for r in rule["resources"]}
    assert readable == crd_plurals


def test_secrets_and_leases_only_in_the_own_namespace() -> None:
    install = build(Settings(namespace="ops"))
    role = _find(install.access, "Role", CONTROLLER_ROLE)
    assert role["metadata"]["namespace"] == "ops"
    secrets = [r for r in role["rules"] if "secrets" in r["resources"]]
    assert secrets == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]
    binding = _find(install.access, "ClusterRoleBinding", f"{CONTROLLER_ROLE}-ops")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gitward", "namespace": "ops"}]


def test_the_apply_role_is_separate_and_optional() -> None:
    with_role = build(Settings(namespace="ops"))
    assert [m["kind"] for m in with_role.apply_access] == ["ClusterRole", "ClusterRoleBinding"]
    assert with_role.apply_access[0]["metadata"]["name"] == APPLY_ROLE
    assert not any(m["metadata"]["name"].startswith(APPLY_ROLE) for m in with_role.access)
    assert build(Settings(apply_role=False)).apply_access == ()


def test_no_workload_leaves_out_exactly_the_workload() -> None:
    install = build()
    assert {m["kind"] for m in install.workload} == {"Deployment", "Service", "PodDisruptionBudget"}
    assert not {m["kind"] for m in install.applicable} & {"Deployment", "Service", "PodDisruptionBudget"}
    assert set(map(id, install.everything)) == set(map(id, install.applicable + install.workload))


def test_the_workload_is_hardened_and_serves_the_run_port() -> None:
    install = build(Settings(namespace="ops", replicas=3, image="registry.example/gitward:1"))
    deployment = _find(install.workload, "Deployment", "gitward")
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/gitward:1"
    assert container["args"][:2] == ["run", "--from-cluster"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]
    assert parse_listen(DEFAULT_LISTEN)[1] == PORT
    assert container["args"][container["args"].index("--listen") + 1] == f"0.0.0.0:{PORT}"
    service = _find(install.workload, "Service", "gitward")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    budget = _find(install.workload, "PodDisruptionBudget", "gitward")
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_one_replica_on_sqlite_is_exactly_todays_workload_and_several_need_postgresql() -> None:
    (container,) = _find(build().workload, "Deployment", "gitward")["spec"]["template"]["spec"]["containers"]
    assert "--ha" not in container["args"]
    assert {e["name"] for e in container["env"]} == {"HOME", "TMPDIR"}
    assert refusal(Settings()) is None
    assert refusal(Settings(replicas=2)) == REPLICAS_NEED_POSTGRESQL
    assert refusal(Settings(replicas=2, state="/var/lib/state.db")) is not None
    assert refusal(Settings(state_secret="db")) is not None
    assert refusal(Settings(replicas=5, state="postgresql://gitward@db/gitward")) is None
