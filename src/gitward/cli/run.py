"""``gitward run``: the standalone server -- engine, API and ``server.json`` in one process.

The engine (``gitward.reconcile.engine``) and the API stack are imported only when ``run`` is
invoked, so ``gitward app list`` starts without loading FastAPI or the control loop. The token is
never printed unless ``--print-token`` is given; the token file's path always is.

Before anything is written, the state folder is checked and the cache folder made private
(``store/private.py``), so a state folder others can write is refused with nothing written in it;
the database is checked when the engine opens it. Every log line passes through ``redact_text``: a
URL credential that reaches a log message by any route is masked there.

TLS: ``--tls-cert``/``--tls-key`` serve the operator's certificate; ``--tls auto`` makes a self-signed
one in the state folder on first start and reuses it (``api/tls.py``), and ``server.json`` names it so
the local CLI trusts exactly that certificate.

Deliberately not here: the server's life cycle itself (``api/server.py: run_standalone``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.client import CliError
from gitward.cli.output import reporting_errors
from gitward.core.errors import GitwardError
from gitward.core.localserver import DEFAULT_STATE_FILE, ServerInfo, user_state_dir
from gitward.core.redact import redact_text

DEFAULT_LISTEN = "127.0.0.1:8080"


class TlsMode(enum.StrEnum):
    OFF = "off"
    AUTO = "auto"


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (loopback) -> (host, port)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise CliError(f"--listen must be HOST:PORT, got {listen!r}")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port_text)


def default_state_file() -> Path:
    return user_state_dir(environ=os.environ, home=Path.home()) / DEFAULT_STATE_FILE


def _engine_module() -> Any:
    """The engine, imported only when ``run`` needs it (``gitward app ...`` never loads it)."""
    import gitward.reconcile.engine as engine_module

    return engine_module


def _prepare_state(state_file: Path, cache_folder: Path) -> None:
    """The store's check, imported here for the same reason as the engine (it loads SQLAlchemy)."""
    from gitward.store.private import prepare_state

    prepare_state(state_file, cache_folder=cache_folder)


def run(
    config: Annotated[
        Path, typer.Option("--config", help="Applications: a file or directory of YAML.", exists=True)
    ],
    state: Annotated[
        Path | None, typer.Option("--state", help="SQLite state file; default: <state dir>/state.db.")
    ] = None,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT for the API.")] = DEFAULT_LISTEN,
    print_token: Annotated[bool, typer.Option("--print-token", help="Also print the admin token.")] = False,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, max=256, help="Apps reconciled in parallel [8].")
    ] = None,
    kube_qps: Annotated[
        float | None,
        typer.Option("--kube-qps", min=1, help="Requests per second to each cluster, client limit [500]."),
    ] = None,
    kube_burst: Annotated[
        int | None,
        typer.Option("--kube-burst", min=1, help="Requests above --kube-qps allowed at once [1000]."),
    ] = None,
    tls: Annotated[
        TlsMode, typer.Option("--tls", help="off, or auto: a self-signed certificate in the state folder.")
    ] = TlsMode.OFF,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (chain) to serve.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Run the engine and its HTTP API until SIGINT or SIGTERM."""
    with reporting_errors():
        host, port = parse_listen(listen)
        state_file = (state or default_state_file()).absolute()
        tls_choice = _check_tls(tls, tls_cert, tls_key)
        engine_module = _engine_module()
        _configure_logging()
        settings = engine_module.EngineSettings(config_path=config.absolute(), state_path=state_file)
        settings = _tuned(settings, concurrency=concurrency, qps=kube_qps, burst=kube_burst)
        try:
            _prepare_state(state_file, settings.cache_dir)
            tls_files = _tls_files(tls_choice, state_file, host)
            serve = _serve(engine_module.Engine, settings, state_file, host, port, print_token, tls_files)
            _run_loop(serve)
        except GitwardError as exc:
            raise CliError(f"{exc.reason}: {exc.message}") from None


def _check_tls(
    mode: TlsMode, cert: Path | None, key: Path | None
) -> tuple[TlsMode, Path | None, Path | None]:
    if (cert is None) != (key is None):
        raise CliError("--tls-cert and --tls-key go together")
    if cert is not None and mode is TlsMode.AUTO:
        raise CliError("--tls auto makes its own certificate; drop it or drop --tls-cert/--tls-key")
    return mode, cert, key


def _tls_files(choice: tuple[TlsMode, Path | None, Path | None], state_file: Path, host: str) -> Any:
    """The certificate and key to serve (None: plain HTTP); imported here because ``cryptography``
    costs start-up time that ``gitward app ...`` should not pay."""
    from gitward.api import tls

    mode, cert, key = choice
    if cert is not None and key is not None:
        return tls.operator_files(cert, key)
    if mode is TlsMode.AUTO:
        return tls.self_signed(state_file.parent, host=host)
    return None


class _RedactingFormatter(logging.Formatter):
    """Masks URL credentials in the whole line, exception text included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop where it is installed (Linux, macOS), else on asyncio's own loop.

    The server's work is thousands of small socket reads and writes (API requests, watch streams,
    subprocess pipes); uvloop's event loop spends less CPU on each, and gitward's CPU is what bounds a
    large cold sync (docs/benchmarks.md).
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _tuned(settings: Any, *, concurrency: int | None, qps: float | None, burst: int | None) -> Any:
    """The settings with the options given on the command line; the others keep their defaults."""
    if concurrency is None and qps is None and burst is None:
        return settings
    connection = settings.connection
    connection = dataclasses.replace(
        connection,
        qps=connection.qps if qps is None else qps,
        burst=connection.burst if burst is None else burst,
    )
    return dataclasses.replace(
        settings,
        concurrency=settings.concurrency if concurrency is None else concurrency,
        connection=connection,
    )


async def _serve(
    engine_class: Any,
    settings: Any,
    state_file: Path,
    host: str,
    port: int,
    print_token: bool,
    tls_files: Any,
) -> None:
    from gitward.api.server import run_standalone
    from gitward.cli.output import console
    from gitward.ui.render import renderer

    def announce(info: ServerInfo) -> None:
        out = console()
        out.print(Text(f"gitward API listening on {info.url}", style="green"), soft_wrap=True)
        out.print(Text(f"web UI: {info.url}/ (sign in with a token)"), soft_wrap=True)
        out.print(Text(f"admin token file: {info.token_file}"), soft_wrap=True)
        if tls_files is not None:
            out.print(Text(f"TLS certificate: {tls_files.cert}"), soft_wrap=True)
        if print_token:
            out.print(
                Text(f"admin token: {info.token_file.read_text(encoding='ascii').strip()}"), soft_wrap=True
            )

    await run_standalone(
        start_engine=lambda: engine_class.start(settings),
        state_file=state_file,
        user_state_dir=user_state_dir(environ=os.environ, home=Path.home()),
        host=host,
        port=port,
        announce=announce,
        config_path=settings.config_path,
        tls=tls_files,
        announce_ca=tls_files is not None and tls_files.cert == state_file.parent / "tls.crt",
        ui=renderer(),
    )
