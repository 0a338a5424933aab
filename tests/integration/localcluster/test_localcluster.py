"""Acceptance of the local control plane: it schedules and runs pods, serves CRDs and server-side
apply, reports the pinned version, and several clusters run side by side independently."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from devtools import localcluster, toolchain

pytestmark = pytest.mark.integration


def _eventually(check: Callable[[], Any], *, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"condition not met in {timeout}s; last value: {last!r}")


def test_deployment_becomes_available_with_running_pods_on_kwok_nodes(kube_cluster: Any) -> None:
    ns = f"acc-{uuid.uuid4().hex[:6]}"
    kube_cluster.kubectl("create", "namespace", ns)
    _eventually(lambda: kube_cluster.kubectl("get", "sa", "default", "-n", ns, check=False))
    kube_cluster.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ns)

    def available() -> bool:
        dep = kube_cluster.get_json("deployment", "web", "-n", ns)
        return dep.get("status", {}).get("availableReplicas") == 2

    _eventually(available)
    pods = kube_cluster.get_json("pods", "-n", ns)["items"]
    running = [p for p in pods if p["status"]["phase"] == "Running"]
    assert len(running) == 2
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in running)
    kube_cluster.kubectl("delete", "namespace", ns, "--wait=false")


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.acceptance.gitward.dev}
spec:
  group: acceptance.gitward.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
"""


def test_crd_and_custom_resource_through_server_side_apply(kube_cluster: Any) -> None:
    kube_cluster.kubectl("apply", "--server-side", "-f", "-", stdin=CRD)
    kube_cluster.kubectl("wait", "--for=condition=Established", "crd/widgets.acceptance.gitward.dev")
    widget = "apiVersion: acceptance.gitward.dev/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\n"
    widget += "spec: {size: 3}\n"
    _eventually(
        lambda: (
            "serverside-applied"
            in kube_cluster.kubectl(
                "apply", "--server-side", "--field-manager=acc", "-f", "-", stdin=widget, check=False
            )
        )
    )
    live = kube_cluster.get_json("widget", "w1", "-n", "default", "--show-managed-fields")
    assert live["spec"] == {"size": 3}
    assert any(m["manager"] == "acc" and m["operation"] == "Apply" for m in live["metadata"]["managedFields"])


def test_server_reports_the_pinned_version(kube_cluster: Any) -> None:
    version = json.loads(kube_cluster.kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == toolchain.KUBERNETES_VERSION


@pytest.mark.multicluster
def test_two_clusters_run_at_once_and_are_independent(kube_cluster: Any, second_cluster: Any) -> None:
    name = f"only-here-{uuid.uuid4().hex[:6]}"
    kube_cluster.kubectl("create", "configmap", name, "-n", "default")
    assert second_cluster.kubectl("get", "configmap", name, "-n", "default", check=False) == ""
    first = json.loads(kube_cluster.kubectl("config", "view", "--minify", "-o", "json"))
    second = json.loads(second_cluster.kubectl("config", "view", "--minify", "-o", "json"))
    assert first["clusters"][0]["cluster"]["server"] != second["clusters"][0]["cluster"]["server"]
    assert second_cluster.get_json("nodes")["items"], "the second cluster has its own kwok nodes"
    kube_cluster.kubectl("delete", "configmap", name, "-n", "default")


def test_port_already_taken_gives_one_line_error_and_leaves_nothing_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    free = [localcluster.free_port() for _ in range(5)]
    ports = iter([free[0], free[1], taken, *free[2:]])  # etcd, etcd-peer, apiserver, ...
    monkeypatch.setattr(localcluster, "free_port", lambda: next(ports))
    name = f"taken-{uuid.uuid4().hex[:6]}"
    try:
        with pytest.raises(localcluster.ClusterError) as err:
            localcluster.up(name)
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith("start kube-apiserver:")
        assert "kube-apiserver.log" in message
        state = localcluster.LocalCluster.load(name)
        assert state is not None
        assert state.pids, "the started processes were recorded"
        assert not any(localcluster.is_alive(pid) for pid in state.pids.values()), "all were stopped"
    finally:
        holder.close()
        localcluster.down(name)
