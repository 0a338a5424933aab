"""A real S3-compatible server on loopback for the Flux Bucket tests: gofakes3 (pinned in
``devtools.toolchain``, built from the Go module proxy the first time) with its in-memory backend,
path-style, anonymous. Objects are put with plain HTTP PUTs, as any S3 client would."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devtools import toolchain
from devtools.gitservers import free_port
from devtools.lifecycle import StartStop


class S3ServerError(RuntimeError):
    pass


@dataclass
class S3Server(StartStop):
    """gofakes3 serving ``bucket`` at ``endpoint`` (``127.0.0.1:PORT``) until stopped."""

    folder: Path
    bucket: str = "manifests"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "gofakes3.log"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = toolchain.build_gofakes3()
        self.port = self.port or free_port()
        argv = [str(binary), "-backend", "memory", "-host", self.endpoint, "-initialbucket", self.bucket]
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(argv, stdout=out, stderr=out, env={"PATH": "/usr/bin:/bin"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise S3ServerError(f"gofakes3 exited with {self._process.returncode}; read {self.log}")
            try:
                with urllib.request.urlopen(f"http://{self.endpoint}/{self.bucket}?list-type=2", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise S3ServerError(f"gofakes3 did not answer on {self.endpoint} within 30s; read {self.log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None

    def put(self, key: str, body: str) -> None:
        request = urllib.request.Request(
            f"http://{self.endpoint}/{self.bucket}/{quote(key)}", data=body.encode(), method="PUT"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http, loopback
            if response.status != 200:
                raise S3ServerError(f"PUT {key}: HTTP {response.status}")

    def delete(self, key: str) -> None:
        request = urllib.request.Request(
            f"http://{self.endpoint}/{self.bucket}/{quote(key)}", method="DELETE"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - http, loopback
            pass
