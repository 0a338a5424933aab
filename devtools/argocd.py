"""Argo CD (application-controller + repo-server + Redis) as a benchmark peer on a local cluster.

Why: the most used GitOps engine belongs in gitward's benchmarks, doing the same job on the same machine.
The two Go components are built from the Go module proxy by ``toolchain.build_argocd`` (one binary that
runs either component, chosen by ``ARGOCD_BINARY_NAME`` as Argo CD's own images do); Redis is Debian's
``redis-server``, installed with apt when missing. All three run here as plain processes bound to
127.0.0.1 (the application-controller's metrics server listens on every address: Argo CD offers no flag
for it; nothing but the benchmark connects to it).

What Argo CD needs in the cluster, and nothing more: its CRDs (Application, AppProject, read from the
pinned module in the Go module cache, never copied here), a namespace with ``argocd-cm`` and
``argocd-secret`` (labelled ``app.kubernetes.io/part-of: argocd``, the label its informers select), the
``default`` AppProject, and the destination cluster as a cluster Secret holding the local cluster's
address and client certificate (the controller runs outside the cluster, so Argo CD's in-cluster
destination is switched off). No argocd-server, Dex, ApplicationSet or notifications controller: the
Applications are created directly, as a user's ``kubectl apply`` would.

``ArgoCD`` is the running peer (a context manager); ``Tuning`` the knobs its high-availability guide
names for scale. Deliberately not here: building (``toolchain``), the cluster (``localcluster``), the Git
server (``gitservers.HttpGitServer``), and what is timed (``bench/``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools import toolchain
from devtools.gitservers import free_port
from devtools.lifecycle import StartStop
from devtools.peerproc import (
    Child,
    ProcessUsage,
    counter_by_label,
    http_ok,
    http_text,
    requests_by_verb,
    stop_all,
)

NAMESPACE = "argocd"
PART_OF = {"app.kubernetes.io/part-of": "argocd"}
CLUSTER_SECRET = "bench-destination"
CRD_FILES = ("manifests/crds/application-crd.yaml", "manifests/crds/appproject-crd.yaml")
STARTUP_TIMEOUT = 120.0
REQUEST_METRIC = "argocd_kubectl_requests_total"
GIT_METRIC = "argocd_git_request_total"  # the repo-server's git calls, by request_type (fetch, ls-remote)
# The manifest-generate-paths annotation: a commit regenerates only the apps whose path it touched
# (the monorepo advice of Argo CD's high-availability guide).
GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"
REFRESH = "argocd.argoproj.io/refresh"


class ArgoCDError(RuntimeError):
    """An Argo CD step failed; the message names the step and, where there is one, the log to read."""


def available() -> str | None:
    """None when Argo CD can run here, else why not (for a benchmark to print)."""
    if not toolchain.Tool(toolchain.ARGOCD_BINARY, toolchain.ARGOCD_VERSION).is_built():
        return f"Argo CD {toolchain.ARGOCD_VERSION} is not built; run `python -m devtools.toolchain argocd`"
    if redis_server() is None:
        return "redis-server is not installed (Debian package redis-server)"
    return None


def redis_server() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).is_file()), None
    )


def ensure_redis() -> str:
    """The path of redis-server, installed from Debian (apt-get) when missing: only the benchmarks
    need it, so ``./dev setup`` does not install it."""
    found = redis_server()
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends"]):
        argv = [*sudo, *argv, *(["redis-server"] if "install" in argv else [])]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ArgoCDError(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-500:]}")
    found = redis_server()
    if not found:
        raise ArgoCDError("redis-server is still missing after apt-get install redis-server")
    return found


@dataclass(frozen=True)
class Tuning:
    """Argo CD's scale knobs, as flags and environment of its two components.

    The defaults are Argo CD's own; ``tuned`` sets them as its high-availability guide advises."""

    label: str = "default settings"
    status_processors: int = 20
    operation_processors: int = 10
    kubectl_parallelism: int = 20
    client_qps: float = 50.0
    client_burst: int = 100
    repo_parallelism: int = 0  # repo-server --parallelismlimit; 0: no limit
    repo_timeout_seconds: int = 60
    resync: str = "120s"  # timeout.reconciliation of argocd-cm
    server_side_apply: bool = False  # the ServerSideApply=true sync option on every Application

    def controller_args(self) -> list[str]:
        return [
            f"--status-processors={self.status_processors}",
            f"--operation-processors={self.operation_processors}",
            f"--kubectl-parallelism-limit={self.kubectl_parallelism}",
            f"--repo-server-timeout-seconds={self.repo_timeout_seconds}",
        ]

    def controller_env(self) -> dict[str, str]:
        return {
            "ARGOCD_K8S_CLIENT_QPS": f"{self.client_qps:g}",
            "ARGOCD_K8S_CLIENT_BURST": str(self.client_burst),
            # what Argo CD's manifests pass from argocd-cm's timeout.reconciliation
            "ARGOCD_RECONCILIATION_TIMEOUT": self.resync,
        }

    def repo_server_args(self) -> list[str]:
        return [f"--parallelismlimit={self.repo_parallelism}"]

    def describe(self) -> str:
        """The settings in one line, for the benchmark tables."""
        return (
            f"{self.label}: --status-processors={self.status_processors}, "
            f"--operation-processors={self.operation_processors}, "
            f"--kubectl-parallelism-limit={self.kubectl_parallelism}, client QPS {self.client_qps:g} / "
            f"burst {self.client_burst}, repo-server --parallelismlimit={self.repo_parallelism}, "
            f"timeout.reconciliation {self.resync}"
            + (", ServerSideApply=true" if self.server_side_apply else "")
        )


def tuned(*, apps: int, concurrency: int, qps: float, burst: int, resync: str = "120s") -> Tuning:
    """Argo CD as its high-availability guide advises for ``apps`` applications, on a client budget.

    The guide: "For 1000 application we use 50 for --status-processors and 25 for
    --operation-processors": those up to 1000 apps, and in proportion above; the Kubernetes client at
    ``qps``/``burst`` (``ARGOCD_K8S_CLIENT_QPS``/``_BURST``); the repo-server's ``--parallelismlimit`` at
    ``concurrency`` manifest generations, the number of apps the other contenders work on at once; the
    repo-server timeout raised (the guide's cure for "Context deadline exceeded" under load)."""
    factor = max(1.0, apps / 1000)
    return Tuning(
        label="tuned",
        status_processors=round(50 * factor),
        operation_processors=round(25 * factor),
        kubectl_parallelism=max(20, concurrency),
        client_qps=qps,
        client_burst=burst,
        repo_parallelism=concurrency,
        repo_timeout_seconds=180,
        resync=resync,
    )


# -- what the cluster needs -----------------------------------------------------------------------


def crd_manifests() -> str:
    module = toolchain.module_dir(toolchain.ARGOCD_MODULE, toolchain.ARGOCD_VERSION)
    docs = []
    for name in CRD_FILES:
        path = module / name
        if not path.is_file():
            raise ArgoCDError(f"no CRD at {path}")
        docs.append(path.read_text())
    return "\n---\n".join(docs)


def kubeconfig_credentials(kubeconfig: Path) -> tuple[str, dict[str, str]]:
    """The server address and the TLS client config (base64 PEMs) of a local cluster's kubeconfig, in
    the form of an Argo CD cluster Secret's ``config``."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]

    def data(inline: str | None, file: str | None) -> str:
        if inline:
            return inline
        if not file:
            raise ArgoCDError(f"{kubeconfig}: no certificate data or file")
        return base64.b64encode(Path(file).read_bytes()).decode()

    tls = {
        "caData": data(cluster.get("certificate-authority-data"), cluster.get("certificate-authority")),
        "certData": data(user.get("client-certificate-data"), user.get("client-certificate")),
        "keyData": data(user.get("client-key-data"), user.get("client-key")),
    }
    return str(cluster["server"]), tls


def setup_objects(kubeconfig: Path, resync: str) -> list[dict[str, Any]]:
    """The namespace, argocd-cm, argocd-secret, the destination cluster Secret and the default
    AppProject: the minimum the application-controller reads."""
    server, tls = kubeconfig_credentials(kubeconfig)
    meta = {"namespace": NAMESPACE, "labels": dict(PART_OF)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", **meta},
            "data": {"cluster.inClusterEnabled": "false", "timeout.reconciliation": resync},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "argocd-secret", **meta},
            "stringData": {"server.secretkey": secrets.token_urlsafe(32)},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": CLUSTER_SECRET,
                "namespace": NAMESPACE,
                "labels": {**PART_OF, "argocd.argoproj.io/secret-type": "cluster"},
            },
            "stringData": {
                "name": "bench",
                "server": server,
                "config": json.dumps({"tlsClientConfig": tls}),
            },
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


def application(
    name: str,
    repo_url: str,
    path: str,
    server: str,
    namespace: str,
    *,
    revision: str = "main",
    server_side_apply: bool = False,
) -> dict[str, Any]:
    """One Application: the path of the repository into its own namespace, automated sync with prune
    and self-heal, the namespace created by Argo CD, generation limited to its own path."""
    options = ["CreateNamespace=true"] + (["ServerSideApply=true"] if server_side_apply else [])
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": NAMESPACE, "annotations": {GENERATE_PATHS: "."}},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": revision, "path": path},
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": options},
        },
    }


def app_state(obj: dict[str, Any]) -> tuple[bool, bool]:
    """(applied, ready) of an Application: applied once Synced after a succeeded sync operation, ready
    once also Healthy: the same two meanings as gitward's Synced and Synced + Healthy."""
    status = obj.get("status") or {}
    synced = (status.get("sync") or {}).get("status") == "Synced"
    succeeded = (status.get("operationState") or {}).get("phase") == "Succeeded"
    healthy = (status.get("health") or {}).get("status") == "Healthy"
    applied = synced and succeeded
    return applied, applied and healthy


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
    try:
        return toolchain.kubectl(kubeconfig, *args, stdin=stdin, timeout=timeout)
    except toolchain.KubectlError as err:
        raise ArgoCDError(str(err)[:800]) from err


def install(kubeconfig: Path, resync: str) -> str:
    """CRDs (server-side, waited until served) and the setup objects; returns the destination server."""
    manifests = crd_manifests()
    names = re.findall(r"^  name: (\S+)$", manifests, re.M)
    _kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifests)
    deadline = time.monotonic() + 60
    while True:  # a CRD just created has no conditions yet, and kubectl wait refuses it then
        try:
            _kubectl(
                kubeconfig,
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                *[f"crd/{n}" for n in names],
            )
            break
        except ArgoCDError as err:
            if "accessor error" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    objects = setup_objects(kubeconfig, resync)
    _kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(objects))
    return str(objects[3]["stringData"]["server"])


# -- the processes --------------------------------------------------------------------------------


@dataclass
class ArgoCD(StartStop):
    """Redis, repo-server and application-controller against one cluster, configured by ``tuning``.

    ``start`` installs what the cluster needs and starts the three processes, returning once the
    controller serves its metrics (it starts its processors right after its caches synced). ``stop``
    (or leaving the ``with``) ends them. State and logs live in ``workdir``, which the caller owns."""

    kubeconfig: Path
    workdir: Path
    tuning: Tuning = field(default_factory=Tuning)
    children: dict[str, Child] = field(default_factory=dict)
    destination: str = ""
    metrics_port: int = 0
    repo_metrics_port: int = 0

    def start(self) -> None:
        reason = available()
        if reason is not None:
            raise ArgoCDError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.destination = install(self.kubeconfig, self.tuning.resync)
        try:
            redis_port = self._start_redis()
            repo_port = self._start_repo_server(redis_port)
            self._start_controller(redis_port, repo_port)
        except BaseException:
            self.stop()
            raise

    def _child(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, argv, self.workdir / f"{name}.log", env or {})
        self.children[name] = child
        child.start()
        return child

    def _start_redis(self) -> int:
        port = free_port()
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        argv = [ensure_redis(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data)]
        argv += ["--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"]
        child = self._child("redis", argv)
        child.wait_until(lambda: child.log_contains("Ready to accept connections"), 30, ArgoCDError)
        return port

    def _common_env(self, binary: str) -> dict[str, str]:
        home = self.workdir / "home"
        tmp = self.workdir / "tmp"
        for folder in (home, tmp, self.workdir / "plugins"):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "ARGOCD_BINARY_NAME": binary,
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "KUBECONFIG": str(self.kubeconfig),
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_PLUGINSOCKFILEPATH": str(self.workdir / "plugins"),
            "ARGOCD_ASK_PASS_SOCK": str(self.workdir / "askpass.sock"),
        }

    def _start_repo_server(self, redis_port: int) -> int:
        port, self.repo_metrics_port = free_port(), free_port()
        argv = [str(toolchain.tool_path(toolchain.ARGOCD_BINARY)), "--address=127.0.0.1", f"--port={port}"]
        argv += ["--metrics-address=127.0.0.1", f"--metrics-port={self.repo_metrics_port}"]
        argv += [f"--redis=127.0.0.1:{redis_port}", "--disable-tls", "--logformat=json", "--loglevel=info"]
        argv += self.tuning.repo_server_args()
        child = self._child("repo-server", argv, self._common_env("argocd-repo-server"))
        url = f"http://127.0.0.1:{self.repo_metrics_port}/healthz?full=true"
        child.wait_until(lambda: http_ok(url), STARTUP_TIMEOUT, ArgoCDError)
        return port

    def _start_controller(self, redis_port: int, repo_port: int) -> None:
        self.metrics_port = free_port()
        argv = [str(toolchain.tool_path(toolchain.ARGOCD_BINARY)), f"--kubeconfig={self.kubeconfig}"]
        argv += [f"--namespace={NAMESPACE}", f"--repo-server=127.0.0.1:{repo_port}"]
        argv += ["--repo-server-plaintext"]
        argv += [f"--redis=127.0.0.1:{redis_port}", f"--metrics-port={self.metrics_port}"]
        argv += ["--logformat=json", "--loglevel=info", *self.tuning.controller_args()]
        env = {**self._common_env("argocd-application-controller"), **self.tuning.controller_env()}
        env["ARGOCD_CONTROLLER_REPLICAS"] = "1"
        env["ARGOCD_CONTROLLER_SHARD"] = "0"
        child = self._child("application-controller", argv, env)
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        child.wait_until(lambda: http_ok(url), STARTUP_TIMEOUT, ArgoCDError)

    def check_alive(self) -> None:
        for child in self.children.values():
            if not child.running():
                code = child.process.returncode if child.process else None
                raise ArgoCDError(f"{child.name} exited with code {code}; read {child.log}")

    def usage(self) -> dict[str, ProcessUsage]:
        """CPU seconds and peak RSS of each running process so far."""
        return {name: u for name, child in self.children.items() if (u := child.usage()) is not None}

    def requests(self) -> dict[str, float]:
        """The controller's Kubernetes requests so far, by HTTP method (its client's own counter)."""
        text = http_text(f"http://127.0.0.1:{self.metrics_port}/metrics")
        return counter_by_label(text, REQUEST_METRIC, "method")

    def git_requests(self) -> dict[str, float]:
        """The repo-server's git calls so far, by type (``fetch``, ``ls-remote``)."""
        text = http_text(f"http://127.0.0.1:{self.repo_metrics_port}/metrics")
        return counter_by_label(text, GIT_METRIC, "request_type")

    def stop(self) -> None:
        # the controller first, so it does not log Redis or repo-server errors while they go away
        stop_all(reversed(list(self.children.values())))

    # -- driving it ---------------------------------------------------------------------------------

    def applications(
        self, repo_url: str, paths: list[str], names: list[str], namespaces: list[str]
    ) -> list[dict[str, Any]]:
        return [
            application(
                name, repo_url, path, self.destination, ns, server_side_apply=self.tuning.server_side_apply
            )
            for name, path, ns in zip(names, paths, namespaces, strict=True)
        ]

    def create(self, apps: list[dict[str, Any]]) -> None:
        """Create the Applications (one server-side apply of them all)."""
        manifest = yaml.safe_dump_all(apps)
        _kubectl(self.kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest, timeout=900)

    def refresh(self, name: str) -> None:
        """Ask for a normal refresh of one Application: what Argo CD's webhook handler does for each
        Application a push concerns (argocd-server, which serves the webhook, is not run here)."""
        patch = json.dumps({"metadata": {"annotations": {REFRESH: "normal"}}})
        _kubectl(self.kubeconfig, "-n", NAMESPACE, "patch", "application", name, "--type=merge", "-p", patch)


@dataclass
class Progress:
    """Which Applications are applied and ready, and when the last of them became so."""

    names: set[str]
    applied: set[str] = field(default_factory=set)
    ready: set[str] = field(default_factory=set)
    all_applied_at: float | None = None
    all_ready_at: float | None = None
    last: dict[str, str] = field(default_factory=dict)

    def observe(self, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        if name not in self.names:
            return
        applied, ready = app_state(obj)
        (self.applied.add if applied else self.applied.discard)(name)
        (self.ready.add if ready else self.ready.discard)(name)
        status = obj.get("status") or {}
        sync = (status.get("sync") or {}).get("status")
        health = (status.get("health") or {}).get("status")
        operation = (status.get("operationState") or {}).get("phase")
        self.last[name] = f"sync {sync}, health {health}, operation {operation}"
        if self.all_applied_at is None and self.applied >= self.names:
            self.all_applied_at = now
        if self.all_ready_at is None and self.ready >= self.names:
            self.all_ready_at = now

    def pending(self, limit: int = 5) -> dict[str, str]:
        return {n: self.last.get(n, "no status yet") for n in sorted(self.names - self.ready)[:limit]}


async def watch_progress(kubeconfig: Path, progress: Progress, start: float, within: float) -> None:
    """Watch the Applications until every one is ready or ``within`` seconds pass; times are seconds
    since ``start`` (a ``perf_counter`` value)."""
    from lightkube import AsyncClient, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.types import on_error_retry

    resource = create_namespaced_resource("argoproj.io", "v1alpha1", "Application", "applications")
    client = AsyncClient(config=KubeConfig.from_file(kubeconfig))

    async def watch() -> None:
        listing = client.list(resource, namespace=NAMESPACE)
        async for obj in listing:
            progress.observe(obj.to_dict(), time.perf_counter() - start)
        if progress.all_ready_at is not None:
            return
        watcher = client.watch(
            resource, namespace=NAMESPACE, resource_version=listing.resourceVersion, on_error=on_error_retry
        )
        async for _, obj in watcher:
            progress.observe(obj.to_dict(), time.perf_counter() - start)
            if progress.all_ready_at is not None:
                return

    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch(), max(0.0, within - (time.perf_counter() - start)))
    finally:
        await client.close()


def main(argv: list[str]) -> int:
    """``python -m devtools.argocd [COUNT]``: a fresh cluster named ``argocd-dev``, a smart-HTTP Git
    server with COUNT apps, Argo CD tuned for them, every app applied and ready; prints the result."""
    import tempfile

    from devtools import localcluster
    from devtools.flux import app_files
    from devtools.gitservers import HttpGitServer

    count = int(next((a for a in argv if a.isdigit()), "5"))
    toolchain.build_all(["kubernetes", "etcd", "kwok", "argocd"])
    cluster = localcluster.up("argocd-dev", apiserver_args=["--service-cluster-ip-range=10.0.0.0/16"])
    try:
        with tempfile.TemporaryDirectory() as tmp, HttpGitServer(Path(tmp) / "git") as server:
            server.create_repo("apps", app_files(count))
            tuning = tuned(apps=count, concurrency=8, qps=500, burst=1000)
            with ArgoCD(cluster.kubeconfig, Path(tmp) / "argocd", tuning) as argo:
                names = [f"app-{i}" for i in range(count)]
                paths = [f"apps/app-{i}" for i in range(count)]
                apps = argo.applications(server.url("apps"), paths, names, [f"argo-{n}" for n in names])
                progress = Progress(set(names))
                start = time.perf_counter()
                argo.create(apps)
                asyncio.run(watch_progress(cluster.kubeconfig, progress, start, 600))
                result = {
                    "applied_seconds": progress.all_applied_at,
                    "ready_seconds": progress.all_ready_at,
                    "applied": len(progress.applied),
                    "ready": len(progress.ready),
                    "pending": progress.pending(),
                    "usage": {k: vars(v) for k, v in argo.usage().items()},
                    "requests": requests_by_verb(argo.requests()),
                    "logs": str(argo.workdir),
                }
                print(json.dumps(result, indent=2))
                return 0 if len(progress.ready) == count else 1
    finally:
        localcluster.down("argocd-dev")


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
