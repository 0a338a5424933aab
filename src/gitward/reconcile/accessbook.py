"""The access config of the API: the Roles, RoleBindings and OIDCProviders of the config as it is now.

The API decides every request with these objects (``api/roles.py``, ``api/oidc.py``); they come from
wherever the engine reads its config, the files or the cluster's custom resources, and change with
it: the engine hands each loaded config to ``configure`` (at start and at every reload), and the API
follows through ``listen``, so an edited RoleBinding changes who may do what without a restart.

An object the config refuses keeps its last good version, as a refused Application keeps its last
good spec: a typo in an OIDCProvider must not lock everyone out meanwhile, nor a broken RoleBinding
take a role away. A refused object that never loaded is simply absent (no role, no provider).

The client secret of an OIDCProvider (the web login's confidential client) is read at each login,
never kept: from its ``secretRef`` through the management cluster's Secrets (``secrets.py``, the same
reading as a Repository's), or from its ``clientSecretFile`` (relative to the config folder, as a
Receiver's secret). So a rotated secret takes effect at the next login. Which of the two a config may
use is ``model/secretrefs.py``'s rule; errors name the Secret or the file, never a value.

Deliberately not here: deciding a request (``api/``), talking to the issuer (``api/oidc.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from gitward.core.errors import FetchError
from gitward.model import LoadedConfig
from gitward.model.access import CLIENT_SECRET_KEY, OIDCProvider, Role, RoleBinding

log = logging.getLogger("gitward.engine")

MAX_SECRET_BYTES = 64 * 1024


class SecretValue(Protocol):
    """Reads one key of a Secret (``reconcile/secrets.py::ClusterSecrets.value``)."""

    async def value(self, namespace: str, name: str, key: str, *, owner: str) -> str: ...


@dataclass(frozen=True)
class AccessConfig:
    """The access objects in use, each kind sorted by name."""

    roles: tuple[Role, ...] = ()
    role_bindings: tuple[RoleBinding, ...] = ()
    oidc_providers: tuple[OIDCProvider, ...] = ()

    def describe(self) -> str:
        return (
            f"{len(self.roles)} Roles, {len(self.role_bindings)} RoleBindings, "
            f"{len(self.oidc_providers)} OIDCProviders"
        )


class _Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=_Named)


def _kept(before: Iterable[T], now: Iterable[T], refused: frozenset[str]) -> tuple[T, ...]:
    """``now``, plus the last good version of each refused object that is not in it."""
    chosen = {o.name: o for o in now}
    for old in before:
        if old.name in refused and old.name not in chosen:
            chosen[old.name] = old
    return tuple(chosen[name] for name in sorted(chosen))


Listener = Callable[[AccessConfig], None]


class AccessBook:
    """The access config in use and who follows it; the client secrets read at use."""

    def __init__(self, *, config_path: Path) -> None:
        self._config_path = config_path
        self.current = AccessConfig()
        self.secrets: SecretValue | None = None  # the management cluster's (run --from-cluster)
        self._listeners: list[Listener] = []

    def configure(self, config: LoadedConfig) -> bool:
        """Take a loaded config's access objects (a refused one keeps its last good version); tell
        the listeners when anything changed. Returns whether it changed."""
        before = self.current
        now = AccessConfig(
            roles=_kept(before.roles, config.roles, config.failed("Role")),
            role_bindings=_kept(before.role_bindings, config.role_bindings, config.failed("RoleBinding")),
            oidc_providers=_kept(before.oidc_providers, config.oidc_providers, config.failed("OIDCProvider")),
        )
        if now == before:
            return False
        self.current = now
        log.info("access config: %s", now.describe())
        for listener in list(self._listeners):
            try:
                listener(now)
            except Exception:
                log.exception("a follower of the access config failed")
        return True

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the access config now and after each change; returns the way to stop."""
        self._listeners.append(listener)
        listener(self.current)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def client_secret(self, provider: OIDCProvider) -> str | None:
        """The provider's client secret as it is now (None: a public client); raises ``FetchError``
        naming the Secret or the file, never a value."""
        spec = provider.spec
        owner = f"OIDCProvider {provider.name!r}"
        if spec.secret_ref is not None:
            if self.secrets is None:
                raise FetchError(f"{owner}: spec.secretRef is read only with gitward run --from-cluster")
            namespace = provider.metadata.namespace or "default"
            return await self.secrets.value(namespace, spec.secret_ref.name, CLIENT_SECRET_KEY, owner=owner)
        if spec.client_secret_file is not None:
            return await asyncio.to_thread(_read_file, self._file(spec.client_secret_file), owner=owner)
        return None

    def _file(self, path: str) -> Path:
        found = Path(path).expanduser()
        if found.is_absolute():
            return found
        base = self._config_path if self._config_path.is_dir() else self._config_path.parent
        return base / found


def _read_file(path: Path, *, owner: str) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise FetchError(
            f"{owner}: clientSecretFile {path} cannot be read: {exc.strerror or type(exc).__name__}",
            reason="SecretUnreadable",
        ) from None
    if len(data) > MAX_SECRET_BYTES:
        raise FetchError(f"{owner}: clientSecretFile {path} is larger than {MAX_SECRET_BYTES} bytes")
    text = data.decode("utf-8", "replace").strip()
    if not text:
        raise FetchError(f"{owner}: clientSecretFile {path} is empty", reason="SecretInvalid")
    return text
