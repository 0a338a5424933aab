"""The ``gitward run`` process and a CLI bound to it through server discovery, for the e2e tier.

Every CLI output is kept so a test can check the server's token never appears in any of it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from devtools.gitservers import HttpGitServer

from gitward.core.localserver import server_record_path

GITWARD = Path(sys.executable).with_name("gitward")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class CliResult:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class GitwardProcess:
    """A running ``gitward run`` and a CLI bound to it through discovery only."""

    root: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    outputs: list[str] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "gitward"

    @property
    def state_file(self) -> Path:
        return self.root / "state" / "state.db"

    @property
    def server_json(self) -> Path:
        """The server's own record (``core/localserver.py``), keyed by its state file."""
        return server_record_path(self.state_dir, self.state_file)

    @property
    def log(self) -> Path:
        return self.root / "gitward.log"

    def start(self, config: Path | None, *, source: tuple[str, ...] = ()) -> None:
        """``gitward run --config CONFIG``, or with ``config`` None the ``source`` options given
        (``--from-cluster ...``)."""
        chosen = ("--config", str(config)) if config is not None else source
        args = [str(GITWARD), "run", *chosen, "--state", str(self.state_file)]
        args += ["--listen", f"127.0.0.1:{self.port}"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not self.server_json.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"gitward run exited with {self.process.returncode}: {self.log_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"gitward run did not announce itself: {self.log_text()}")
            time.sleep(0.1)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def token(self) -> str:
        info = json.loads(self.server_json.read_text())
        return Path(info["tokenFile"]).read_text().strip()

    def cli(self, *args: str, timeout: float = 300) -> CliResult:
        out = subprocess.run(
            [str(GITWARD), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        self.outputs += [out.stdout, out.stderr]
        return CliResult(tuple(args), out.returncode, out.stdout, out.stderr)

    def ok(self, *args: str) -> CliResult:
        result = self.cli(*args)
        assert result.code == 0, f"gitward {' '.join(args)} -> {result.code}: {result.stderr}"
        return result

    def app(self, name: str) -> dict[str, Any]:
        summary: dict[str, Any] = self.ok("app", "get", name, "-o", "json").json()
        return summary

    def until(self, check: Callable[[], Any], *, within: float = 120) -> Any:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.3)
        raise AssertionError(f"condition not met in {within}s; last: {last!r}\n{self.log_text()[-4000:]}")

    def interrupt(self, *, within: float = 60) -> int:
        """SIGINT, as Ctrl-C would send, and the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=within)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


def application(name: str, *, repo: str, path: str, namespace: str, self_heal: bool) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": repo, "revision": "main", "path": path},
            "destination": {"cluster": "local", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": self_heal},
                "interval": "1h",
                "options": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
            },
        },
    }


def configmap(name: str, data: dict[str, str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


def deployment(name: str) -> str:
    labels = {"app": name}
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
                },
            },
        }
    )


@dataclass(frozen=True)
class E2eWorld:
    gitward: GitwardProcess
    git: HttpGitServer
    repo: Any
    web: str  # automated with selfHeal
    manual: str  # automated without selfHeal
    namespaces: dict[str, str]
