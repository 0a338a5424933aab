"""``./dev demo``: gitward's main job on a local cluster, shown step by step in the terminal.

A local Git repository with three example apps (plain YAML, a Kustomize overlay, a Helm chart, from
``examples/apps``), a local Kubernetes cluster, and the real ``gitward run`` process. The demo shows
the apps becoming Synced and Healthy, a commit applied, a drift healed and a removed manifest pruned,
each through gitward's own CLI and kubectl. Then gitward keeps running until Ctrl-C, and the demo ends
by printing the web UI's URL and a token to sign in with; ``--once`` stops everything at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from devtools import localcluster, toolchain
from devtools.gitservers import create_repo, free_port

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "apps"
GITWARD = Path(sys.executable).parent / "gitward"
APPS = {"guestbook": "apps/guestbook", "podinfo": "apps/podinfo/overlays/demo", "hello": "apps/hello-chart"}


def step(text: str) -> None:
    print(f"\n\033[1;36m== {text}\033[0m", flush=True)


def repo_files() -> dict[str, str]:
    files = {}
    for path in sorted(EXAMPLES.rglob("*")):
        if path.is_file():
            files[f"apps/{path.relative_to(EXAMPLES)}"] = path.read_text()
    return files


def config(kubeconfig: Path, repo_url: str) -> str:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "demo"},
            "spec": {"kubeconfig": str(kubeconfig)},
        }
    ]
    for name, path in APPS.items():
        source: dict[str, Any] = {"repoURL": repo_url, "revision": "main", "path": path}
        if name == "hello":
            source["helm"] = {"releaseName": "hello", "values": {"replicaCount": 2}}
        docs.append(
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Application",
                "metadata": {"name": name},
                "spec": {
                    "source": source,
                    "destination": {"cluster": "demo", "namespace": f"demo-{name}"},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "interval": "30s",
                        "options": ["CreateNamespace=true"],
                    },
                },
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


class Demo:
    def __init__(self, work: Path, cluster_name: str) -> None:
        self.work = work
        self.cluster_name = cluster_name
        self.env = dict(os.environ)
        self.env["XDG_STATE_HOME"] = str(work / "state-home")
        self.env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        self.env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        self.env.pop("GITWARD_SERVER", None)
        self.env.pop("GITWARD_TOKEN", None)
        self.server: subprocess.Popen[bytes] | None = None
        self.kubeconfig = Path()
        self.url = ""

    def kubectl(self, *args: str, check: bool = True) -> str:
        return toolchain.kubectl(self.kubeconfig, *args, check=check, timeout=60)

    def gitward(self, *args: str, show: bool = True) -> str:
        out = subprocess.run([str(GITWARD), *args], capture_output=True, text=True, env=self.env, timeout=120)
        if show:
            print(out.stdout, end="", flush=True)
            if out.stderr.strip():
                print(out.stderr.strip(), file=sys.stderr, flush=True)
        return out.stdout

    def apps(self) -> list[dict[str, Any]]:
        text = self.gitward("app", "list", "-o", "json", show=False)
        try:
            return list(json.loads(text)) if text.strip() else []
        except ValueError:
            return []

    def wait(self, what: str, check: Callable[[], bool], within: float = 180.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting: {what}")

    def all_synced_healthy(self) -> bool:
        apps = self.apps()
        return len(apps) == len(APPS) and all(
            a["sync"]["status"] == "Synced" and a["health"]["status"] == "Healthy" for a in apps
        )

    def start(self) -> None:
        step(f"starting local Kubernetes cluster {self.cluster_name!r} (etcd, kube-apiserver, kwok nodes)")
        cluster = localcluster.up(self.cluster_name)
        self.kubeconfig = cluster.kubeconfig
        print(self.kubectl("get", "nodes"), end="")

        step("creating a Git repository with three apps: plain YAML, a Kustomize overlay, a Helm chart")
        self.repo = create_repo(self.work / "git" / "apps.git", self.work / "git" / "work", repo_files())
        repo_url = f"file://{self.work / 'git' / 'apps.git'}"
        for name, path in APPS.items():
            print(f"  {name:<10} {repo_url} path={path}")
        config_dir = self.work / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "gitward.yaml").write_text(config(self.kubeconfig, repo_url))

        step("starting gitward")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.work / "gitward.log").open("ab")
        self.server = subprocess.Popen(
            [
                str(GITWARD),
                "run",
                "--config",
                str(config_dir),
                "--state",
                str(self.work / "state" / "gitward.db"),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        print(f"  gitward run --config {config_dir}  (log: {self.work / 'gitward.log'})")
        self.wait("the gitward API", lambda: bool(self.apps()), within=60)

    def show_synced(self) -> None:
        step("apps becoming Synced and Healthy")
        self.wait("all apps Synced and Healthy", self.all_synced_healthy)
        self.gitward("app", "list")
        print(
            self.kubectl(
                "get", "deployments,services,configmaps", "-A", "-l", "app.kubernetes.io/managed-by=gitward"
            )
        )

    def commit_change(self) -> None:
        step("committing a change: guestbook THEME light -> dark, 3 replicas")
        deployment = (
            (EXAMPLES / "guestbook" / "deployment.yaml").read_text().replace("replicas: 2", "replicas: 3")
        )
        settings = (EXAMPLES / "guestbook" / "settings.yaml").read_text().replace("light", "dark")
        self.repo.commit(
            {"apps/guestbook/deployment.yaml": deployment, "apps/guestbook/settings.yaml": settings},
            message="guestbook: dark theme, 3 replicas",
        )
        self.repo.push()
        self.gitward("app", "refresh", "guestbook")
        self.wait(
            "the change applied",
            lambda: (
                self.kubectl(
                    "get",
                    "configmap",
                    "guestbook-settings",
                    "-n",
                    "demo-guestbook",
                    "-o",
                    "jsonpath={.data.THEME}",
                )
                == "dark"
            ),
        )
        self.wait(
            "3 replicas available",
            lambda: (
                self.kubectl(
                    "get",
                    "deployment",
                    "guestbook",
                    "-n",
                    "demo-guestbook",
                    "-o",
                    "jsonpath={.status.availableReplicas}",
                )
                == "3"
            ),
        )
        print(self.kubectl("get", "deployment,configmap", "-n", "demo-guestbook"))
        self.gitward("app", "history", "guestbook")

    def heal_drift(self) -> None:
        step("editing an object with kubectl (out of band): podinfo scaled to 5")
        self.kubectl("scale", "deployment", "demo-podinfo", "-n", "demo-podinfo", "--replicas=5")
        self.wait(
            "the drift healed",
            lambda: (
                self.kubectl(
                    "get",
                    "deployment",
                    "demo-podinfo",
                    "-n",
                    "demo-podinfo",
                    "-o",
                    "jsonpath={.spec.replicas}",
                )
                == "2"
            ),
        )
        print(
            "  replicas back to",
            self.kubectl(
                "get", "deployment", "demo-podinfo", "-n", "demo-podinfo", "-o", "jsonpath={.spec.replicas}"
            ),
            "(as in Git)",
        )
        self.gitward("app", "events", "podinfo")

    def prune(self) -> None:
        step("removing a manifest from Git: guestbook's Service")
        self.repo.commit({"apps/guestbook/service.yaml": None}, message="guestbook: drop the service")
        self.repo.push()
        self.gitward("app", "refresh", "guestbook")
        self.wait(
            "the Service pruned",
            lambda: (
                not self.kubectl(
                    "get", "service", "guestbook", "-n", "demo-guestbook", "--ignore-not-found", "-o", "name"
                ).strip()
            ),
        )
        print(
            "  service/guestbook is gone:",
            self.kubectl("get", "services", "-n", "demo-guestbook") or "(none)",
        )
        self.wait("all apps Synced and Healthy", self.all_synced_healthy)
        self.gitward("app", "list")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
        localcluster.down(self.cluster_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo")
    parser.add_argument("--once", action="store_true", help="stop everything at the end")
    parser.add_argument("--cluster", default="demo")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gitward-demo-"))
    demo = Demo(work, args.cluster)
    try:
        demo.start()
        demo.show_synced()
        demo.commit_change()
        demo.heal_drift()
        demo.prune()
        step("done")
        token_file = work / "state" / "gitward.token"
        if args.once:
            print(f"web UI was at {demo.url}/ (stopping now: --once)")
            return 0
        print(f"gitward keeps running: {demo.url}")
        print(f"try: XDG_STATE_HOME={work / 'state-home'} {GITWARD} app list")
        print("Ctrl-C stops gitward and the cluster.")
        print(f"\n\033[1mweb UI: {demo.url}/\033[0m  (open it and sign in with the token below)")
        print(f"login token: {token_file.read_text().strip()}  (file: {token_file})", flush=True)
        while demo.server is not None and demo.server.poll() is None:
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    except Exception as err:
        print(f"demo failed: {err}; gitward log: {work / 'gitward.log'}", file=sys.stderr)
        return 1
    finally:
        step("stopping gitward and the local cluster")
        demo.stop()
        if args.once:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
