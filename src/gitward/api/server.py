"""Run the API with uvicorn inside the caller's asyncio loop, next to the engine.

``ApiServer`` binds its socket itself (so "address in use" is a clear error raised before the engine
starts, not uvicorn's ``sys.exit``) and leaves signal handling to its owner: uvicorn's own handlers
would re-raise SIGINT after shutdown and cut the engine's stop short. ``run_standalone`` is the whole
life of ``gitward run``: admin token, API tokens, access config, TLS, engine, API, the local-server record,
then on SIGINT/SIGTERM the reverse order -- the API stops taking requests before the engine stops.

The access config (Roles, RoleBindings, OIDCProviders of ``model/access.py``) is the engine's: it
comes from the same config (files or the cluster's custom resources) and follows every reload
(``reconcile/accessbook.py``); ``follow_access`` makes the API's ``Access`` follow it, client
secrets included.

Deliberately not here: making certificates (``tls.py``) and the command line (``cli/run.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import uvicorn
from fastapi import FastAPI

from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.api.app import create_app
from gitward.api.pageseam import PageRenderer
from gitward.api.roles import RoleBook
from gitward.api.tokens import load_or_create_token, remove_server_info, write_server_info
from gitward.core.errors import ValidationError
from gitward.core.localserver import ServerInfo, token_file_for
from gitward.reconcile.accessbook import AccessBook, AccessConfig
from gitward.reconcile.service import EngineService, EngineViews
from gitward.store.tokens import TokenStore

if TYPE_CHECKING:
    from gitward.api.tls import TlsFiles  # its module loads cryptography, needed only with --tls


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

    def __init__(self, *, host: str, port: int, log_level: str = "info", tls: TlsFiles | None = None) -> None:
        try:
            self._socket = socket.create_server((host, port), family=_family(host))
        except OSError as exc:
            raise ValidationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        bound_port = self._socket.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://[{host}]:{bound_port}" if ":" in host else f"{scheme}://{host}:{bound_port}"
        self._log_level = log_level
        self._tls = tls
        self._server: _OwnerHandlesSignals | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: FastAPI) -> None:
        """Return once the server accepts connections."""
        tls = self._tls
        config = uvicorn.Config(
            app,
            log_level=self._log_level,
            log_config=None,  # uvicorn logs through the process's handlers (``gitward run --log-format``)
            lifespan="off",
            access_log=False,
            ssl_certfile=str(tls.cert) if tls else None,
            ssl_keyfile=str(tls.key) if tls else None,
            timeout_graceful_shutdown=10,  # a client that holds a connection open cannot hold up a stop
            ws="none",  # the API has no WebSocket route (events are server-sent); its library stays unloaded
        )
        self._server = server = _OwnerHandlesSignals(config)
        self._task = asyncio.create_task(server.serve(sockets=[self._socket]))
        while not server.started:
            if self._task.done():
                self._task.result()  # surfaces the startup error
                raise RuntimeError("API server stopped during startup")
            await asyncio.sleep(0.005)

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


def follow_access(access: Access, book: AccessBook) -> Callable[[], None]:
    """``access`` decides with the book's roles and providers from now on, and reads client secrets
    through it; returns the way to stop following."""
    access.client_secret = book.client_secret

    def configure(config: AccessConfig) -> None:
        access.configure(RoleBook.from_config(config.roles, config.role_bindings), config.oidc_providers)

    return book.listen(configure)


async def run_standalone(
    *,
    start_engine: Callable[[], Awaitable[StoppableService]],
    state_file: Path,
    user_state_dir: Path,
    host: str,
    port: int,
    announce: Callable[[ServerInfo], None],
    stop: asyncio.Event | None = None,
    tls: TlsFiles | None = None,
    announce_ca: bool = False,
    ui: PageRenderer | None = None,
    database: str | None = None,
) -> None:
    """Serve until ``stop`` is set (by default: on SIGINT or SIGTERM), then shut down in order.
    ``announce_ca``: name ``tls.cert`` in the local-server record as the certificate local clients trust.
    ``ui``: the web UI's templates and assets, served by the same app (``api/pageseam.py``).
    ``database``: the state database's URL when it is not the SQLite file ``state_file``."""
    token_file = token_file_for(state_file)
    admin_token = load_or_create_token(token_file)
    token_store = TokenStore.open(database or state_file)
    try:
        access = Access(admin_token=admin_token, tokens=TokenRegistry(token_store))
        await _serve(
            start_engine,
            access,
            user_state_dir=user_state_dir,
            host=host,
            port=port,
            announce=announce,
            stop=stop,
            token_file=token_file,
            state_file=state_file,
            tls=tls,
            announce_ca=announce_ca,
            ui=ui,
        )
    finally:
        token_store.close()


async def _serve(
    start_engine: Callable[[], Awaitable[StoppableService]],
    access: Access,
    *,
    user_state_dir: Path,
    host: str,
    port: int,
    announce: Callable[[ServerInfo], None],
    stop: asyncio.Event | None,
    token_file: Path,
    state_file: Path,
    tls: TlsFiles | None,
    announce_ca: bool,
    ui: PageRenderer | None = None,
) -> None:
    server = ApiServer(host=host, port=port, tls=tls)
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
        book = getattr(engine, "access_book", None)
        unfollow = follow_access(access, book) if isinstance(book, AccessBook) else None
        try:
            await server.start(create_app(engine, access=access, ui=ui))
            ca_file = tls.cert if tls is not None and announce_ca else None
            info = ServerInfo(
                url=server.url, token_file=token_file, ca_file=ca_file, state_file=state_file, pid=os.getpid()
            )
            write_server_info(user_state_dir, info)
            try:
                announce(info)
                await stop.wait()
            finally:
                remove_server_info(user_state_dir, info)
        finally:
            if isinstance(engine, EngineViews):
                engine.feed.close()  # open event streams end, so the server's shutdown does not wait on them
            await server.stop()
            if unfollow is not None:
                unfollow()
            await engine.stop()
