"""A real local Kubernetes control plane as plain processes: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (fake nodes that run pods).

Why: gitward must be proven against a real API server (server-side apply, discovery, watches, RBAC,
admission) and the machines that build and test it have no container engine. Every component binds
127.0.0.1 on free ports, with TLS, RBAC and service accounts on. Several clusters run side by side,
each in its own folder with its own certificates, data and logs.

Each step that fails raises ``ClusterError`` with one line naming the step and the log file to read,
after stopping everything already started: nothing half-started is left running.
Deliberately not here: building the binaries (``toolchain``), or anything gitward-specific.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools import toolchain
from devtools.pki import CertificateAuthority, KeyPair, service_account_keys

FAKE_NODE_COUNT = 3
STARTUP_TIMEOUT = 120.0


class ClusterError(RuntimeError):
    """A cluster step failed; the message names the step and the log file."""


def clusters_root() -> Path:
    return toolchain.cache_root() / "clusters"


@dataclass
class Component:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class LocalCluster:
    """One running (or stopped) local cluster and how to reach it."""

    name: str
    directory: Path
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster.json"

    def save(self) -> None:
        self.state_file.write_text(json.dumps({"name": self.name, "ports": self.ports, "pids": self.pids}))

    @classmethod
    def load(cls, name: str) -> LocalCluster | None:
        directory = clusters_root() / name
        try:
            data = json.loads((directory / "cluster.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(name=name, directory=directory, ports=data["ports"], pids=data["pids"])

    def running(self) -> bool:
        return bool(self.pids) and all(is_alive(pid) for pid in self.pids.values())


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kubeconfig(path: Path, *, server: str, ca: Path, client: KeyPair, user: str) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [
            {"name": user, "user": {"client-certificate": str(client.cert), "client-key": str(client.key)}}
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)


class _Launcher:
    """Starts components in order and stops all of them if any step fails."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.components: list[Component] = []

    def start(self, name: str, argv: list[str]) -> Component:
        log = self.cluster.directory / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        component = Component(name, argv, log)
        with log.open("ab") as out:
            component.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.cluster.directory,
            )
        self.components.append(component)
        self.cluster.pids[name] = component.process.pid
        self.cluster.save()
        return component

    def wait(self, step: str, component: Component, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if component.process is not None and component.process.poll() is not None:
                raise ClusterError(f"{step}: {component.name} exited early; read {component.log}")
            try:
                if ready():
                    return
            except (OSError, ValueError, subprocess.SubprocessError, toolchain.KubectlError):
                pass
            time.sleep(0.2)
        raise ClusterError(f"{step}: {component.name} not ready after {timeout:.0f}s; read {component.log}")


def _https_ok(url: str, *, ca: Path, client: KeyPair | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except urllib.error.URLError:
        return False


def _kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    return toolchain.kubectl(cluster.kubeconfig, *args, stdin=stdin, timeout=60)


def _fake_nodes() -> str:
    docs = []
    for index in range(FAKE_NODE_COUNT):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": f"kwok-node-{index}",
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {
                        "type": "kwok",
                        "kubernetes.io/hostname": f"kwok-node-{index}",
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                    },
                },
                "status": {
                    "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                    "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                },
            }
        )
    return "\n---\n".join(yaml.safe_dump(d) for d in docs)


def _pki(cluster: LocalCluster) -> dict[str, KeyPair]:
    ca = CertificateAuthority(cluster.directory / "pki")
    issued = {
        "ca": ca.pair,
        "apiserver": ca.issue(
            "apiserver",
            common_name="kube-apiserver",
            server_names=(
                "127.0.0.1",
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "10.0.0.1",
            ),
            client=False,
        ),
        "admin": ca.issue("admin", common_name="gitward-admin", organization="system:masters"),
        "controller-manager": ca.issue("controller-manager", common_name="system:kube-controller-manager"),
        "scheduler": ca.issue("scheduler", common_name="system:kube-scheduler"),
        "kwok": ca.issue("kwok", common_name="kwok-controller", organization="system:masters"),
        "apiserver-etcd-client": ca.issue("apiserver-etcd-client", common_name="kube-apiserver-etcd"),
        "sa": service_account_keys(cluster.directory / "pki"),
    }
    return issued


def _etcd_argv(cluster: LocalCluster) -> list[str]:
    client, peer = cluster.ports["etcd"], cluster.ports["etcd-peer"]
    return [
        str(toolchain.tool_path("etcd")),
        "--name=default",
        f"--data-dir={cluster.directory / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=default=http://127.0.0.1:{peer}",
        "--listen-metrics-urls=",
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=8589934592",
        "--log-level=warn",
    ]


def _apiserver_argv(cluster: LocalCluster, pki: dict[str, KeyPair], extra: list[str]) -> list[str]:
    return [
        str(toolchain.tool_path("kube-apiserver")),
        f"--etcd-servers=http://127.0.0.1:{cluster.ports['etcd']}",
        "--etcd-prefix=/registry",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={cluster.ports['apiserver']}",
        f"--cert-dir={cluster.directory / 'pki'}",
        f"--tls-cert-file={pki['apiserver'].cert}",
        f"--tls-private-key-file={pki['apiserver'].key}",
        f"--client-ca-file={pki['ca'].cert}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki['sa'].cert}",
        f"--service-account-signing-key-file={pki['sa'].key}",
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultStorageClass,ResourceQuota",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=1",
        *extra,
    ]


def _controller_argv(cluster: LocalCluster, pki: dict[str, KeyPair], extra: list[str]) -> list[str]:
    config = cluster.directory / "controller-manager.kubeconfig"
    return [
        str(toolchain.tool_path("kube-controller-manager")),
        f"--kubeconfig={config}",
        f"--authentication-kubeconfig={config}",
        f"--authorization-kubeconfig={config}",
        "--bind-address=127.0.0.1",
        f"--secure-port={cluster.ports['controller-manager']}",
        f"--root-ca-file={pki['ca'].cert}",
        f"--service-account-private-key-file={pki['sa'].key}",
        "--use-service-account-credentials=true",
        "--leader-elect=false",
        "--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle",
        "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        "--v=1",
        *extra,
    ]


def _scheduler_argv(cluster: LocalCluster) -> list[str]:
    config = cluster.directory / "scheduler.kubeconfig"
    return [
        str(toolchain.tool_path("kube-scheduler")),
        f"--kubeconfig={config}",
        f"--authentication-kubeconfig={config}",
        f"--authorization-kubeconfig={config}",
        "--bind-address=127.0.0.1",
        f"--secure-port={cluster.ports['scheduler']}",
        "--leader-elect=false",
        "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        "--v=1",
    ]


def _kwok_argv(cluster: LocalCluster) -> list[str]:
    return [
        str(toolchain.tool_path("kwok")),
        f"--kubeconfig={cluster.directory / 'kwok.kubeconfig'}",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--server-address=127.0.0.1:{cluster.ports['kwok']}",
        "--node-ip=127.0.0.1",
        "--node-lease-duration-seconds=40",
        "--cidr=10.1.0.0/16",
        "--config=" + str(cluster.directory / "kwok.yaml"),
    ]


def _nodes_ready(cluster: LocalCluster) -> bool:
    out = _kubectl(cluster, "get", "nodes", "-o", "json")
    items = json.loads(out)["items"]
    ready = [
        n
        for n in items
        if any(
            c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", [])
        )
    ]
    return len(ready) >= FAKE_NODE_COUNT


def _default_service_account(cluster: LocalCluster) -> bool:
    _kubectl(cluster, "get", "serviceaccount", "default", "-n", "default", "-o", "name")
    return True


def up(
    name: str, *, apiserver_args: list[str] | None = None, controller_args: list[str] | None = None
) -> LocalCluster:
    """Start a cluster named ``name`` (or return the running one) and wait until it runs pods; the
    extra flags go to kube-apiserver and kube-controller-manager (benchmarks lift their limits)."""
    existing = LocalCluster.load(name)
    if existing is not None and existing.running():
        return existing
    if existing is not None:
        down(name)
    toolchain.build_all()
    directory = clusters_root() / name
    directory.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(name=name, directory=directory)
    for component in ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok"):
        cluster.ports[component] = free_port()
    cluster.save()
    launcher = _Launcher(cluster)
    try:
        _start_all(cluster, launcher, apiserver_args or [], controller_args or [])
    except BaseException:
        stop_processes(cluster)  # keep the folder: the error names a log file in it
        raise
    return cluster


def _start_all(
    cluster: LocalCluster, launcher: _Launcher, apiserver_args: list[str], controller_args: list[str]
) -> None:
    pki = _pki(cluster)
    ca = pki["ca"].cert
    server = f"https://127.0.0.1:{cluster.ports['apiserver']}"
    _kubeconfig(cluster.kubeconfig, server=server, ca=ca, client=pki["admin"], user="admin")
    for user in ("controller-manager", "scheduler", "kwok"):
        _kubeconfig(
            cluster.directory / f"{user}.kubeconfig", server=server, ca=ca, client=pki[user], user=user
        )
    (cluster.directory / "kwok.yaml").write_text(toolchain.kwok_stages())

    etcd = launcher.start("etcd", _etcd_argv(cluster))
    etcd_health = f"http://127.0.0.1:{cluster.ports['etcd']}/health"
    launcher.wait("start etcd", etcd, lambda: _http_ok(etcd_health), STARTUP_TIMEOUT)

    apiserver = launcher.start("kube-apiserver", _apiserver_argv(cluster, pki, apiserver_args))
    readyz = f"{server}/readyz"
    launcher.wait(
        "start kube-apiserver",
        apiserver,
        lambda: _https_ok(readyz, ca=ca, client=pki["admin"]),
        STARTUP_TIMEOUT,
    )

    cm = launcher.start("kube-controller-manager", _controller_argv(cluster, pki, controller_args))
    scheduler = launcher.start("kube-scheduler", _scheduler_argv(cluster))
    kwok = launcher.start("kwok", _kwok_argv(cluster))
    launcher.wait(
        "start kube-scheduler",
        scheduler,
        lambda: (
            _https_ok(f"https://127.0.0.1:{cluster.ports['scheduler']}/healthz", ca=ca)
            or _insecure_ok(f"https://127.0.0.1:{cluster.ports['scheduler']}/healthz")
        ),
        STARTUP_TIMEOUT,
    )
    launcher.wait(
        "start kube-controller-manager",
        cm,
        lambda: _insecure_ok(f"https://127.0.0.1:{cluster.ports['controller-manager']}/healthz"),
        STARTUP_TIMEOUT,
    )
    launcher.wait(
        "create kwok nodes",
        kwok,
        lambda: bool(_kubectl(cluster, "apply", "-f", "-", stdin=_fake_nodes())),
        STARTUP_TIMEOUT,
    )
    launcher.wait("kwok nodes Ready", kwok, lambda: _nodes_ready(cluster), STARTUP_TIMEOUT)
    launcher.wait("default service account", cm, lambda: _default_service_account(cluster), STARTUP_TIMEOUT)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except urllib.error.URLError:
        return False


def _insecure_ok(url: str) -> bool:
    """Component health endpoints serve self-signed certificates; only liveness is checked here."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except urllib.error.URLError:
        return False


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_processes(cluster: LocalCluster) -> None:
    """Stop every process of the cluster, in reverse start order."""
    for pid in reversed(list(cluster.pids.values())):
        _stop_pid(pid)


def down(name: str) -> bool:
    """Stop every process of the cluster and remove its data."""
    cluster = LocalCluster.load(name)
    directory = clusters_root() / name
    if cluster is not None:
        stop_processes(cluster)
    if directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
        return True
    return cluster is not None


def status() -> list[dict[str, Any]]:
    """Every cluster folder with whether all its processes are alive."""
    root = clusters_root()
    rows = []
    for entry in sorted(root.iterdir()) if root.exists() else []:
        cluster = LocalCluster.load(entry.name)
        if cluster is None:
            continue
        rows.append(
            {
                "name": cluster.name,
                "running": cluster.running(),
                "server": cluster.server,
                "kubeconfig": str(cluster.kubeconfig),
            }
        )
    return rows
