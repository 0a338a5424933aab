"""Run the API with uvicorn inside the caller's asyncio loop, next to the engine.

``ApiServer`` binds its socket itself (so "address in use" is a clear error raised before the engine
starts, not uvicorn's ``sys.exit``) and leaves signal handling to its owner: uvicorn's own handlers
would re-raise SIGINT after shutdown and cut the engine's stop short. ``run_standalone`` is the whole
life of ``gitward run``: token, engine, API, ``server.json``, then on SIGINT/SIGTERM the reverse order
-- the API stops taking requests before the engine stops.

Deliberately not here: TLS (put a proxy in front) and the command line (``cli/run.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from gitward.api.app import create_app
from gitward.api.tokens import load_or_create_token, remove_server_info, write_server_info
from gitward.core.errors import ValidationError
from gitward.core.localserver import ServerInfo, token_file_for
from gitward.reconcile.service import EngineService


class StoppableService(EngineService, Protocol):
    async def stop(self) -> None: ...


class _OwnerHandlesSignals(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class ApiServer:
    """Binds at construction (so a busy port fails before the engine starts), serves on ``start``."""

    def __init__(self, *, host: str, port: int, log_level: str = "info") -> None:
        try:
            self._socket = socket.create_server((host, port), family=_family(host))
        except OSError as exc:
            raise ValidationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        bound_port = self._socket.getsockname()[1]
        self.url = f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
        self._log_level = log_level
        self._server: _OwnerHandlesSignals | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: FastAPI) -> None:
        """Return once the server accepts connections."""
        config = uvicorn.Config(app, log_level=self._log_level, lifespan="off", access_log=False)
        self._server = server = _OwnerHandlesSignals(config)
        self._task = asyncio.create_task(server.serve(sockets=[self._socket]))
        while not server.started:
            if self._task.done():
                self._task.result()  # surfaces the startup error
                raise RuntimeError("API server stopped during startup")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    handled = (signal.SIGINT, signal.SIGTERM)
    for sig in handled:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def run_standalone(
    *,
    start_engine: Callable[[], Awaitable[StoppableService]],
    state_file: Path,
    user_state_dir: Path,
    host: str,
    port: int,
    announce: Callable[[ServerInfo], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (by default: on SIGINT or SIGTERM), then shut down in order."""
    token_file = token_file_for(state_file)
    token = load_or_create_token(token_file)
    server = ApiServer(host=host, port=port)
    signals: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if stop is None:
        stop = asyncio.Event()
        signals = _stop_on_signals(stop)
    with signals:
        try:
            engine = await start_engine()
        except BaseException:
            await server.stop()
            raise
        try:
            await server.start(create_app(engine, token=token))
            info = ServerInfo(url=server.url, token_file=token_file)
            write_server_info(user_state_dir, info)
            try:
                announce(info)
                await stop.wait()
            finally:
                remove_server_info(user_state_dir, info)
        finally:
            await server.stop()
            await engine.stop()
