"""``gitward run``: the standalone server -- engine, API and the local-server record in one process.

The engine (``gitward.reconcile.engine``) and the API stack are imported only when ``run`` is
invoked, so ``gitward app list`` starts without loading FastAPI or the control loop. The token is
never printed unless ``--print-token`` is given; the token file's path always is.

Before anything is written, the state folder is checked and the cache folder made private
(``store/private.py``), so a state folder others can write is refused with nothing written in it;
the database is checked when the engine opens it. ``--state`` names a SQLite file or a PostgreSQL
URL (``postgresql://USER@HOST:PORT/DB``, the password from a password file or ``PGPASSWORD``, never
in the URL: one with a password is refused here). With a URL, the token, the TLS files and the cache
stay in a local state folder: ``<state dir>`` with names made from the URL (``state_anchor``).
The log goes to stderr as ``--log-format`` says (``cli/logsetup.py``); every line passes through
``redact_text``: a URL credential that reaches a log message by any route is masked there.

At start, one log line per renderer says whether it was found (path, version, supported range) or is
missing and how to install it (``render/tools.py``). ``in-cluster`` is reached through ``KUBECONFIG``,
else, in a pod, through the pod's service account, set up whichever apps name it (ApplicationSets
make apps the config does not list) (``cluster/incluster.py``); with neither, Applications naming it
stop ``run`` with one error that says so, before anything is started.

``--from-cluster`` reads the config from the gitward custom resources of the management cluster
(``reconcile/clustersource.py``), all namespaces or ``--namespace``, through ``--kubeconfig``, else
``KUBECONFIG``, else the pod's service account; that cluster is also the ``in-cluster`` destination.
Each Application object's ``status`` is written back (``reconcile/statuswriter.py``).

``--ha`` makes this process one of several replicas sharing the apps (``cli/ha.py`` checks its
options: a shared PostgreSQL ``--state``, the replica id, the Lease namespace and duration; the
Leases live in the management cluster: ``--kubeconfig``, else ``KUBECONFIG``, else the pod's service
account). Without it, one process runs every app, as always.

TLS: ``--tls-cert``/``--tls-key`` serve the operator's certificate; ``--tls auto`` makes a self-signed
one in the state folder on first start and reuses it (``api/tls.py``), and the server's record names it so
the local CLI trusts exactly that certificate.

Deliberately not here: the server's life cycle itself (``api/server.py: run_standalone``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import gc
import logging
import os
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli import ha as ha_options
from gitward.cli.client import CliError
from gitward.cli.logsetup import LogFormat, LogLevel, configure_logging
from gitward.cli.output import reporting_errors
from gitward.core.errors import GitwardError
from gitward.core.localserver import DEFAULT_STATE_FILE, ServerInfo, user_state_dir
from gitward.core.logfields import fields

log = logging.getLogger("gitward.run")

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


def state_anchor(url: str, state_dir: Path) -> Path:
    """For a PostgreSQL ``--state``: the local file name the token, TLS files and cache are named
    after (never created: the database is the server's), ``<state dir>/pg-HOST-PORT-DB.db``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    name = f"pg-{parts.hostname or 'local'}-{port}-{parts.path.strip('/') or 'default'}"
    return state_dir / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".db")


def _state_location(state: str | None) -> tuple[Path, str | None]:
    """``--state`` as (the local state file or anchor, the database URL or None for that file)."""
    if state is None:
        return default_state_file(), None
    if "://" not in state:
        return Path(state).expanduser().absolute(), None
    if not state.lower().startswith("postgres"):
        raise CliError("--state takes a SQLite file path or a postgresql://USER@HOST:PORT/DB URL")
    return state_anchor(state, user_state_dir(environ=os.environ, home=Path.home())), state


def _engine_module() -> Any:
    """The engine, imported only when ``run`` needs it (``gitward app ...`` never loads it)."""
    import gitward.reconcile.engine as engine_module

    return engine_module


def _prepare_state(state_file: Path, cache_folder: Path, database: str | None) -> None:
    """The store's checks, imported here for the same reason as the engine (it loads SQLAlchemy)."""
    from gitward.store.database import create_store_engine
    from gitward.store.private import prepare_state

    if database is not None:
        # Before anything is written: a URL with a password is refused, and so is a server that
        # cannot be reached or a database that does not exist, each with one line.
        create_store_engine(database).dispose()
    prepare_state(state_file, cache_folder=cache_folder)


def run(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Applications: a file or directory of YAML.", exists=True),
    ] = None,
    from_cluster: Annotated[
        bool,
        typer.Option(
            "--from-cluster",
            help="Read the config from the gitward custom resources of the cluster instead of --config.",
        ),
    ] = False,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="With --from-cluster: read this namespace only [all]."),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="With --from-cluster: the management cluster [KUBECONFIG, else the pod's service account].",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="SQLite state file, or postgresql://USER@HOST:PORT/DB (password from PGPASSFILE, "
            "~/.pgpass or PGPASSWORD); default: <state dir>/state.db.",
        ),
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
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format", envvar="GITWARD_LOG_FORMAT", help="Log lines on stderr: console or json."
        ),
    ] = LogFormat.CONSOLE,
    log_level: Annotated[
        LogLevel,
        typer.Option("--log-level", envvar="GITWARD_LOG_LEVEL", help="Least severe level logged."),
    ] = LogLevel.INFO,
    ha: Annotated[
        bool,
        typer.Option(
            "--ha", help="Be one of several replicas sharing the apps (Leases; a PostgreSQL --state)."
        ),
    ] = False,
    replica_id: Annotated[
        str | None,
        typer.Option("--replica-id", help="With --ha: this replica's id [POD_NAME, else host name]."),
    ] = None,
    lease_namespace: Annotated[
        str | None,
        typer.Option(
            "--lease-namespace", help="With --ha: namespace of the Leases [the pod's, else gitward]."
        ),
    ] = None,
    lease_duration: Annotated[
        float | None,
        typer.Option(
            "--lease-duration", min=1, help="With --ha: seconds before a silent replica's apps move [15]."
        ),
    ] = None,
) -> None:
    """Run the engine and its HTTP API until SIGINT or SIGTERM; the config from files (--config) or
    from the cluster's custom resources (--from-cluster)."""
    with reporting_errors(), _collection_paused():
        host, port = parse_listen(listen)
        state_file, database = _state_location(state)
        tls_choice = _check_tls(tls, tls_cert, tls_key)
        _check_source(config, from_cluster, namespace, kubeconfig, ha=ha)
        ha_options.check_options(
            ha=ha,
            database=database,
            replica_id=replica_id,
            lease_namespace=lease_namespace,
            lease_duration=lease_duration,
        )
        engine_module = _engine_module()
        configure_logging(log_format, log_level)
        if config is not None:
            settings = engine_module.EngineSettings(
                config_path=config.absolute(), state_path=state_file, database=database, watch_config=1.0
            )
        else:
            settings = engine_module.EngineSettings(
                config_path=state_file.parent / CLUSTER_CONFIG_FOLDER,
                state_path=state_file,
                database=database,
            )
        settings = _tuned(settings, concurrency=concurrency, qps=kube_qps, burst=kube_burst)
        try:
            _prepare_state(state_file, settings.cache_dir, database)
            if config is not None:
                _reach_in_cluster(settings.config_path, state_file.parent)
            else:
                settings = _from_cluster(settings, state_file.parent, namespace, kubeconfig)
            if ha:
                secure = tls_choice[0] is TlsMode.AUTO or tls_choice[1] is not None
                replicas = ha_options.replica_settings(
                    replica_id_option=replica_id,
                    namespace_option=lease_namespace,
                    duration_option=lease_duration,
                    kubeconfig=_management_kubeconfig(kubeconfig, state_file.parent),
                    address=ha_options.advertised_address(host, port, secure=secure, environ=os.environ),
                )
                settings = dataclasses.replace(settings, replicas=replicas)
            renderers = _check_renderers()
            tls_files = _tls_files(tls_choice, state_file, host)
            serve = _serve(
                engine_module.Engine, settings, state_file, host, port, print_token, tls_files, renderers
            )
            _run_loop(serve)
        except GitwardError as exc:
            raise CliError(f"{exc.reason}: {exc.message}") from None


CLUSTER_CONFIG_FOLDER = "cluster-config"


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while the process starts: importing the engine and the API
    creates a few hundred thousand objects that all live as long as the process, and the
    collector walked them over and over (about a tenth of the start-up). The engine's start resumes
    it (``_resume_collection``), once everything is imported and before anything may wait on a
    cluster; leaving ``run`` early, by an error, resumes it here."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _resume_collection() -> None:
    """Collection resumes: from here on the process makes mostly short-lived garbage."""
    gc.freeze()
    gc.enable()


def _check_source(
    config: Path | None, from_cluster: bool, namespace: str | None, kubeconfig: Path | None, *, ha: bool
) -> None:
    if (config is None) == (not from_cluster):
        raise CliError("give exactly one of --config (files) and --from-cluster (custom resources)")
    if not from_cluster and namespace is not None:
        raise CliError("--namespace goes with --from-cluster")
    if not from_cluster and not ha and kubeconfig is not None:
        raise CliError("--kubeconfig goes with --from-cluster or --ha (the management cluster)")


def _management_kubeconfig(kubeconfig: Path | None, state_dir: Path) -> Path:
    """The cluster of the replicas' Leases: ``--kubeconfig``, else KUBECONFIG, else the pod's
    service account (with ``--from-cluster`` already resolved the same way)."""
    if kubeconfig is not None:
        return kubeconfig.absolute()
    if not os.environ.get("KUBECONFIG"):
        from gitward.cluster.incluster import in_cluster_kubeconfig

        text = in_cluster_kubeconfig(os.environ)
        if text is None:
            raise CliError(
                "--ha keeps its Leases in the management cluster: give --kubeconfig FILE, set KUBECONFIG, "
                "or run gitward in a pod with a service account"
            )
        _write_in_cluster(state_dir, text)
    return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])


def _from_cluster(settings: Any, state_dir: Path, namespace: str | None, kubeconfig: Path | None) -> Any:
    """The settings for ``--from-cluster``: the management cluster's kubeconfig (``--kubeconfig``,
    else KUBECONFIG, else the pod's service account), which is also the ``in-cluster`` destination;
    the config folder is an empty private folder in the state folder (relative paths in the
    custom resources resolve there, and nothing is ever read from it)."""
    from gitward.reconcile.settings import ClusterConfigSettings

    if kubeconfig is not None:
        os.environ["KUBECONFIG"] = str(kubeconfig.absolute())
    elif not os.environ.get("KUBECONFIG"):
        from gitward.cluster.incluster import in_cluster_kubeconfig

        text = in_cluster_kubeconfig(os.environ)
        if text is None:
            raise CliError(
                "--from-cluster needs the management cluster: give --kubeconfig FILE, set KUBECONFIG, "
                "or run gitward in a pod with a service account"
            )
        _write_in_cluster(state_dir, text)
    path = Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
    settings.config_path.mkdir(mode=0o700, exist_ok=True)
    return dataclasses.replace(
        settings, from_cluster=ClusterConfigSettings(kubeconfig=path, namespace=namespace)
    )


def _write_in_cluster(state_dir: Path, text: str) -> None:
    target = state_dir / "in-cluster.kubeconfig"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.environ["KUBECONFIG"] = str(target)  # where the engine looks for ``in-cluster``
    log.info("in-cluster: using the pod's service account", extra=fields(kubeconfig=str(target)))


def _check_tls(
    mode: TlsMode, cert: Path | None, key: Path | None
) -> tuple[TlsMode, Path | None, Path | None]:
    if (cert is None) != (key is None):
        raise CliError("--tls-cert and --tls-key go together")
    if cert is not None and mode is TlsMode.AUTO:
        raise CliError("--tls auto makes its own certificate; drop it or drop --tls-cert/--tls-key")
    return mode, cert, key


def _tls_files(choice: tuple[TlsMode, Path | None, Path | None], state_file: Path, host: str) -> Any:
    """The certificate and key to serve (None: plain HTTP); ``api/tls.py`` is imported only when TLS
    is asked for, because ``cryptography`` costs start-up time a plain HTTP server should not pay."""
    mode, cert, key = choice
    if cert is not None and key is not None:
        from gitward.api import tls

        return tls.operator_files(cert, key)
    if mode is TlsMode.AUTO:
        from gitward.api import tls

        return tls.self_signed(state_file.parent, host=host)
    return None


def _check_renderers() -> Future[list[Any]]:
    """Each renderer found (path, version) or missing; logged once the engine has started, so a
    start that fails shows its one error alone. The check runs each tool's version command (tens
    of milliseconds each), so it runs in a thread while the server starts instead of before it."""
    from gitward.render.tools import check_renderers

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitward-renderers")
    checks = pool.submit(check_renderers)
    pool.shutdown(wait=False)  # its one thread ends with the check
    return checks


def _report_renderers(checks: list[Any]) -> None:
    """One line per renderer: found (path, version) or missing (how to install it)."""
    for check in checks:
        ok = check.found and check.in_range is not False
        log.log(
            logging.INFO if ok else logging.WARNING,
            check.describe(),
            extra=fields(
                renderer=check.renderer.name,
                found=check.found,
                path=str(check.path) if check.path is not None else None,
                version=check.version,
                supported=check.renderer.supported,
            ),
        )


def _in_cluster_apps(config_path: Path) -> list[str]:
    """The apps whose destination is ``in-cluster`` when no Cluster object of that name is defined;
    an unreadable config is the engine's to report, so it yields none here."""
    from gitward.model import IN_CLUSTER
    from gitward.reconcile.config import load_config

    try:
        loaded = load_config(config_path)
    except GitwardError:
        return []
    if loaded.cluster(IN_CLUSTER) is not None:
        return []
    return sorted(app.name for app in loaded.applications if app.spec.destination.cluster == IN_CLUSTER)


def _reach_in_cluster(config_path: Path, state_dir: Path, *, account_dir: Path | None = None) -> None:
    """``in-cluster`` through KUBECONFIG, else, in a pod, the pod's service account (a kubeconfig
    written into the state folder, naming the mounted token), whichever apps name it now: an app an
    ApplicationSet generates, or one a later edit of the config adds, may name it too, and the
    ApplicationSet clusters generator offers ``in-cluster`` only when it can be reached. Outside a
    pod without KUBECONFIG, the config's Applications naming it stop the start with one error
    naming both fixes (a generated one reports the same on its own status)."""
    if os.environ.get("KUBECONFIG"):
        return
    from gitward.cluster.incluster import SERVICE_ACCOUNT_DIR, in_cluster_kubeconfig, no_in_cluster_message

    text = in_cluster_kubeconfig(os.environ, account_dir=account_dir or SERVICE_ACCOUNT_DIR)
    if text is not None:
        _write_in_cluster(state_dir, text)
        return
    apps = _in_cluster_apps(config_path)
    if apps:
        raise CliError(no_in_cluster_message(apps, account_dir=account_dir or SERVICE_ACCOUNT_DIR))


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
    renderers: Future[list[Any]],
) -> None:
    from gitward.api.server import run_standalone
    from gitward.cli.output import console
    from gitward.ui.render import renderer

    def announce(info: ServerInfo) -> None:
        log.info("gitward API listening on %s", info.url, extra=fields(url=info.url))
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

    async def start_engine() -> Any:
        _resume_collection()  # imports done; the engine's start may wait on a cluster (--from-cluster, --ha)
        checks = await asyncio.wrap_future(renderers)  # usually done: it ran while the API was set up
        engine = await engine_class.start(settings)
        _report_renderers(checks)  # before any app's first pass can run
        return engine

    await run_standalone(
        start_engine=start_engine,
        state_file=state_file,
        user_state_dir=user_state_dir(environ=os.environ, home=Path.home()),
        host=host,
        port=port,
        announce=announce,
        tls=tls_files,
        announce_ca=tls_files is not None and tls_files.cert == state_file.parent / "tls.crt",
        ui=renderer(),
        database=settings.database,
    )
