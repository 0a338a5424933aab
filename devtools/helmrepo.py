"""A throw-away Helm chart repository on loopback for tests, benchmarks and the demo.

Charts are packaged with the pinned helm binary (``devtools.toolchain``), ``index.yaml`` is written by
``helm repo index``, and a stdlib HTTP server serves the folder on 127.0.0.1, optionally behind Basic
authentication. ``add_archive`` publishes raw bytes as a chart version (for archive bombs and broken
charts) by editing the index directly, because helm rightly refuses to index such files.
Deliberately not here: OCI registries and TLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from devtools.lifecycle import StartStop
from devtools.toolchain import tool_path


def default_chart_files(name: str, version: str) -> dict[str, str]:
    """A minimal valid chart: one ConfigMap whose data shows the chart version and a value."""
    return {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: '{version}'\n",
        "values.yaml": "greeting: hello\n",
        "templates/configmap.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n"
            "data:\n  greeting: {{ .Values.greeting | quote }}\n"
            f"  chartVersion: {version!r}\n"
        ),
    }


class _Handler(SimpleHTTPRequestHandler):
    server: _ChartServer

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        expected = self.server.authorization
        if expected is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="gitward-charts"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        super().do_GET()


class _ChartServer(ThreadingHTTPServer):
    daemon_threads = True
    authorization: str | None = None
    requests: list[str]


@dataclass
class HelmRepoServer(StartStop):
    """Charts under ``<root>/charts`` served at ``url``; ``add_chart`` packages and re-indexes."""

    root: Path
    username: str | None = None
    password: str | None = None
    port: int = 0
    _server: _ChartServer | None = None
    _thread: threading.Thread | None = None
    _extra_entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def charts_dir(self) -> Path:
        return self.root / "charts"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, to prove caching and to count downloads."""
        return list(self._server.requests) if self._server else []

    def start(self) -> None:
        self.charts_dir.mkdir(parents=True, exist_ok=True)
        handler = partial(_Handler, directory=str(self.charts_dir))
        server = _ChartServer(("127.0.0.1", self.port), handler)
        server.requests = []
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            server.authorization = "Basic " + base64.b64encode(pair).decode()
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="helm-repo", daemon=True)
        self._thread.start()
        self._reindex()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def add_chart(self, name: str, version: str, files: dict[str, str] | None = None) -> Path:
        """Package a chart (default content when ``files`` is None) and refresh index.yaml."""
        source = self.root / "sources" / f"{name}-{version}" / name
        for rel, content in (files or default_chart_files(name, version)).items():
            target = source / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self._helm("package", str(source), "--destination", str(self.charts_dir))
        self._reindex()
        return self.charts_dir / f"{name}-{version}.tgz"

    def add_archive(self, name: str, version: str, data: bytes) -> None:
        """Publish arbitrary bytes as ``name`` ``version`` (helm would refuse to index them)."""
        filename = f"{name}-{version}.tgz"
        (self.charts_dir / filename).write_bytes(data)
        entry = {
            "apiVersion": "v2", "name": name, "version": version, "urls": [filename],
            "digest": hashlib.sha256(data).hexdigest(), "created": "2024-01-01T00:00:00Z",
        }  # fmt: skip
        self._extra_entries.append((name, entry))
        self._reindex()

    def write_index(self, data: bytes) -> None:
        """Replace index.yaml with raw bytes (for huge or malformed indexes)."""
        (self.charts_dir / "index.yaml").write_bytes(data)

    def _reindex(self) -> None:
        staged = [p for p in self.charts_dir.glob("*.tgz") if self._is_extra(p.name)]
        # helm repo index reads every .tgz; hide the raw archives from it and add them afterwards.
        hidden = self.root / "hidden"
        hidden.mkdir(exist_ok=True)
        for path in staged:
            path.rename(hidden / path.name)
        try:
            self._helm("repo", "index", str(self.charts_dir), "--url", self.url)
        finally:
            for path in staged:
                (hidden / path.name).rename(path)
        index_path = self.charts_dir / "index.yaml"
        index = yaml.safe_load(index_path.read_text()) or {}
        entries = index.setdefault("entries", {}) or {}
        index["entries"] = entries
        for name, entry in self._extra_entries:
            entries.setdefault(name, []).append(entry)
        index_path.write_text(yaml.safe_dump(index))

    def _is_extra(self, filename: str) -> bool:
        return any(filename == e["urls"][0] for _, e in self._extra_entries)

    def _helm(self, *args: str) -> None:
        env = {"HELM_CACHE_HOME": str(self.root / "helm-cache"), "HELM_CONFIG_HOME": str(self.root / "helm")}
        env["HELM_DATA_HOME"] = str(self.root / "helm-data")
        env["PATH"] = "/usr/bin:/bin"
        done = subprocess.run(
            [str(tool_path("helm")), *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"helm {args[0]} failed: {done.stderr.strip()}")
