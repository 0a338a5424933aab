"""A loopback TCP proxy in front of the real API server, for fault tests (docs/reliability.md, F2, F5).

TLS passes through untouched and the server certificate carries 127.0.0.1, so clients verify it as
usual. ``refuse`` closes that many new connections at once, ``cut()`` drops the open ones, ``stop()``
refuses everything (a crashed server) and ``start()`` again listens on the same port (it came back).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import yaml


class ApiServerProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self.port = 0
        self.refuse = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @classmethod
    def for_kubeconfig(cls, kubeconfig: Path) -> ApiServerProxy:
        server = urlsplit(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])
        return cls((server.hostname or "127.0.0.1", server.port or 443))

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def cut(self) -> None:
        """Drop every open connection."""
        for task in list(self._pipes):
            task.cancel()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def stop(self) -> None:
        """Refuse new connections and drop every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.cut()

    def write_kubeconfig(self, kubeconfig: Path, target: Path) -> Path:
        """A copy of ``kubeconfig`` whose server is this proxy."""
        config = yaml.safe_load(kubeconfig.read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        target.write_text(yaml.safe_dump(config))
        return target

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.refuse > 0:
            self.refuse -= 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            dst.close()
