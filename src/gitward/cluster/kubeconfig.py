"""Reading a kubeconfig into what an HTTP client needs: server URL, TLS context, credentials.

lightkube parses the file (contexts, clusters, users, relative paths); this module turns the chosen
context into an ``ssl.SSLContext`` and an ``httpx.Auth`` whose flow ``cluster.senders`` runs for the
``Authorization`` header of each request.

Credential plugins are refused (docs/reliability.md, bad input 4): a kubeconfig ``exec`` entry or
``auth-provider`` would run a program named by whoever wrote the file, so gitward never runs one and
says so clearly. Supported: client certificates, bearer tokens (inline or ``tokenFile``, re-read
when the server answers 401), basic auth.

Deliberately not here: in-cluster service-account config (a kubeconfig written for it works) and
proxies.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from gitward.core.errors import Stalled


class KubeconfigError(Stalled):
    """The kubeconfig cannot be used as written; a human must change it."""

    reason = "KubeconfigInvalid"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one API server. ``repr`` never shows credentials."""

    server: str
    context: str
    namespace: str
    ssl_context: ssl.SSLContext | None
    auth: httpx.Auth | None


class _BearerToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "<BearerToken>"


class _BearerTokenFile(httpx.Auth):
    """Token read from a file and read again on 401, because such tokens are rotated in place."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._header: str | None = None

    def _read(self) -> str:
        try:
            return f"Bearer {self._path.read_text().strip()}"
        except OSError as err:
            raise KubeconfigError(f"cannot read token file {self._path}: {err.strerror}") from None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header is None:
            self._header = self._read()
        request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code == 401:
            self._header = self._read()
            request.headers["Authorization"] = self._header
            yield request

    def __repr__(self) -> str:
        return f"<BearerTokenFile {self._path}>"


def load_endpoint(path: Path | str, context: str | None = None) -> Endpoint:
    """The endpoint of ``context`` (default: the current context) in the kubeconfig at ``path``."""
    try:
        config = KubeConfig.from_file(str(path)).get(context)
    except ConfigError as err:
        raise KubeconfigError(f"kubeconfig {path}: {err}") from None
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise KubeconfigError(f"kubeconfig {path} is not usable: {type(err).__name__}") from None
    if config is None:
        raise KubeconfigError(f"kubeconfig {path} has no current context")
    _refuse_plugins(config, path)
    server = config.cluster.server.rstrip("/")
    ssl_context = _ssl_context(config) if server.startswith("https") else None
    return Endpoint(
        server=server,
        context=config.context_name,
        namespace=config.namespace,
        ssl_context=ssl_context,
        auth=_auth(config),
    )


def _refuse_plugins(config: SingleConfig, path: Path | str) -> None:
    user = config.user
    if user is None:
        return
    if user.exec is not None:
        raise KubeconfigError(
            f"kubeconfig {path} context {config.context_name!r} uses an exec credential plugin "
            f"({user.exec.command!r}); gitward never runs credential plugins: use a token, tokenFile "
            "or client certificate"
        )
    if user.auth_provider is not None:
        raise KubeconfigError(
            f"kubeconfig {path} context {config.context_name!r} uses an auth-provider plugin; gitward "
            "never runs credential plugins: use a token, tokenFile or client certificate"
        )


def _auth(config: SingleConfig) -> httpx.Auth | None:
    user = config.user
    if user is None:
        return None
    if user.token_file is not None:
        return _BearerTokenFile(Path(config.abs_file(user.token_file)))
    if user.token is not None:
        return _BearerToken(user.token)
    if user.username and user.password:
        return httpx.BasicAuth(user.username, user.password)
    return None


def _ssl_context(config: SingleConfig) -> ssl.SSLContext:
    cluster = config.cluster
    if cluster.certificate_auth:
        ctx = ssl.create_default_context(cafile=str(config.abs_file(cluster.certificate_auth)))
    elif cluster.certificate_auth_data:
        ctx = ssl.create_default_context(cadata=_b64(cluster.certificate_auth_data, "certificate-authority"))
    else:
        ctx = ssl.create_default_context()
        if cluster.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    user = config.user
    if user is not None and (user.client_cert or user.client_cert_data):
        _load_client_cert(ctx, config)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, config: SingleConfig) -> None:
    user = config.user
    assert user is not None
    if user.client_cert_data is None and user.client_key_data is None:
        cert = str(config.abs_file(user.client_cert or ""))
        key = str(config.abs_file(user.client_key or ""))
        ctx.load_cert_chain(cert, key)
        return
    # ssl only loads key material from files: write it to a private directory for the call only.
    with tempfile.TemporaryDirectory(prefix="gitward-tls-") as tmp:
        cert_path = _material(tmp, "cert", user.client_cert_data, user.client_cert, config)
        key_path = _material(tmp, "key", user.client_key_data, user.client_key, config)
        ctx.load_cert_chain(cert_path, key_path)


def _material(tmp: str, name: str, data: str | None, path: str | None, config: SingleConfig) -> str:
    if data is None:
        if path is None:
            raise KubeconfigError(
                f"client certificate without client {name} in context {config.context_name}"
            )
        return str(config.abs_file(path))
    target = os.path.join(tmp, name)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_b64(data, f"client-{name}-data"))
    return target


def _b64(data: str, field: str) -> str:
    try:
        return base64.b64decode(data).decode()
    except (ValueError, UnicodeDecodeError):
        raise KubeconfigError(f"kubeconfig field {field} is not valid base64 PEM") from None
