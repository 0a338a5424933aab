"""Health plugins: Python checks an installed package adds through the entry point group
``gitward.health``.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."gitward.health"]
    acme = "acme_health:CHECKS"

where ``CHECKS`` maps kinds to checks: ``{"Widget.acme.example.com": widget_health}`` (a kind as
Kubernetes writes a group-kind, ``Kind.group``; a core kind is its name alone). A check takes the
live object (a dict, its own copy) and returns a ``gitward.health.Health``, or ``None`` to leave the
decision to the built-in and generic checks.

A plugin cannot stop a reconcile: each call runs on the plugin's own worker thread and is waited for
at most ``PLUGIN_TIMEOUT`` seconds. A call that raises, returns something else, or takes longer
makes that object Unknown with the error. While a call that ran over is still running, further
calls to that plugin answer Unknown at once instead of queueing behind it, so a plugin that hangs
holds one thread, never the control loop. Worker threads are daemons: a hung plugin does not keep
gitward from exiting.

Deliberately not here: finding the entry points (the caller passes them, so this module reads no
package metadata itself), and the order against declared and built-in checks (``assess``).
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from gitward.core.status import Health, HealthStatus

log = logging.getLogger("gitward.health")

ENTRY_POINT_GROUP: Final = "gitward.health"
#: The longest one plugin call is waited for, in seconds.
PLUGIN_TIMEOUT: Final = 1.0

PluginFunction = Callable[[dict[str, Any]], Any]


class EntryPointLike(Protocol):
    """What ``importlib.metadata.EntryPoint`` offers that this module uses."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> Any: ...


class PluginError(Exception):
    """A plugin call that raised, ran over its time, or returned something that is not a Health."""


def parse_group_kind(text: str) -> tuple[str, str]:
    """``"Widget.acme.example.com"`` -> ``("acme.example.com", "Widget")``; ``"Pod"`` -> ``("", "Pod")``."""
    kind, _, group = text.partition(".")
    if not kind or not kind[0].isalpha() or not kind.isalnum():
        raise ValueError(f"{text!r} is not a kind (Kind or Kind.group)")
    return (group, kind)


def group_kind_text(group: str, kind: str) -> str:
    return f"{kind}.{group}" if group else kind


class _Worker:
    """One daemon thread running one plugin's calls, one at a time."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._busy = False
        self._requests: queue.SimpleQueue[tuple[PluginFunction, dict[str, Any], threading.Event, list[Any]]]
        self._requests = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def call(self, function: PluginFunction, obj: dict[str, Any], *, timeout: float) -> Any:
        with self._lock:
            if self._busy:
                raise PluginError(f"an earlier call is still running after more than {timeout:g}s")
            self._busy = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"health-{self._name}", daemon=True)
                self._thread.start()
        done = threading.Event()
        box: list[Any] = []
        self._requests.put((function, obj, done, box))
        if not done.wait(timeout):
            raise PluginError(f"took longer than {timeout:g}s")
        ok, value = box
        if not ok:
            raise PluginError(f"raised {type(value).__name__}: {value}")
        return value

    def _run(self) -> None:
        while True:
            function, obj, done, box = self._requests.get()
            try:
                box[:] = [True, function(obj)]
            except BaseException as exc:
                box[:] = [False, exc]
            with self._lock:
                self._busy = False
            done.set()


@dataclass
class PluginCheck:
    """One plugin's check for one kind, called under the time bound."""

    plugin: str  # the entry point's name
    target: str  # the entry point's value, ``module:attribute``
    group_kind: tuple[str, str]
    function: PluginFunction
    worker: _Worker
    timeout: float = PLUGIN_TIMEOUT

    def __call__(self, obj: Mapping[str, Any]) -> Health | None:
        """The plugin's answer; raises ``PluginError`` (the caller makes the object Unknown)."""
        result = self.worker.call(self.function, copy.deepcopy(dict(obj)), timeout=self.timeout)
        if result is None or isinstance(result, Health):
            return result
        raise PluginError(f"returned {type(result).__name__}, not a gitward.health.Health or None")


@dataclass(frozen=True)
class LoadedPlugins:
    """The checks of every plugin that loaded, by kind (in plugin name order), and why others did not."""

    checks: Mapping[tuple[str, str], tuple[PluginCheck, ...]]
    errors: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({c.plugin for cs in self.checks.values() for c in cs}))


def load_plugins(entry_points: Iterable[EntryPointLike], *, timeout: float = PLUGIN_TIMEOUT) -> LoadedPlugins:
    """Load each entry point; one that fails to import or is not a mapping of kinds to callables is
    reported (logged, and in ``errors``) and left out, never stopping the others or gitward."""
    by_kind: dict[tuple[str, str], list[PluginCheck]] = {}
    errors: list[str] = []
    for entry in sorted(entry_points, key=lambda e: e.name):
        try:
            checks = _checks_of(entry, timeout)
        except Exception as exc:
            message = f"health plugin {entry.name} ({entry.value}) not loaded: {type(exc).__name__}: {exc}"
            log.warning("%s", message)
            errors.append(message)
            continue
        for check in checks:
            by_kind.setdefault(check.group_kind, []).append(check)
        log.info(
            "health plugin %s loaded: %s",
            entry.name,
            ", ".join(group_kind_text(*c.group_kind) for c in checks),
        )
    return LoadedPlugins({k: tuple(v) for k, v in by_kind.items()}, tuple(errors))


def _checks_of(entry: EntryPointLike, timeout: float) -> list[PluginCheck]:
    table = entry.load()
    if not isinstance(table, Mapping):
        raise TypeError(f"it names a {type(table).__name__}, not a mapping of kinds to checks")
    worker = _Worker(entry.name)
    checks = []
    for key, function in table.items():
        if not isinstance(key, str) or not callable(function):
            raise TypeError(f"entry {key!r} is not a kind mapped to a callable")
        group_kind = parse_group_kind(key)
        checks.append(PluginCheck(entry.name, entry.value, group_kind, function, worker, timeout))
    return checks


def unknown_from(check: PluginCheck, error: PluginError) -> Health:
    return Health(HealthStatus.UNKNOWN, f"health plugin {check.plugin}: {error}")
