"""Credentials from Secrets of the management cluster, read at use (``run --from-cluster``).

A Repository's ``spec.secretRef`` names a Secret in the Repository's own namespace holding
``username`` and ``password``, or ``bearerToken``, or ``sshPrivateKey`` (and ``knownHosts``, without
which no SSH host is trusted); a Cluster's ``spec.secretRef`` names one holding ``kubeconfig``. A Flux
GitRepository's ``secretRef`` is read with Flux's keys (``username``/``password``, ``bearerToken``,
``identity``/``known_hosts``). An OIDCProvider's, a Receiver's and a Notification target's
``secretRef`` is read one key at a time (``value``), at each use.

The Secret is read (a GET through the cluster client) each time the credentials are needed, which is
once per fetch of the repository, so a Secret changed with kubectl takes effect at the next fetch,
without a restart. The install grants gitward get/list/watch on Secrets in its own namespace only,
so the objects naming Secrets belong there; a Secret gitward may not read is an error saying so.

Values stay in memory, except what must be a file for the program that uses it (an SSH key and its
known hosts for ssh, a kubeconfig for the cluster client): those are written 0600 into ``folder``
(0700, inside the private state folder), named by the object, and rewritten only when they change.
No value ever reaches a log line, a status or an error: errors name the Secret and its keys only.

Deliberately not here: which object names which Secret (``model/``), handing credentials to git
(``sources/credentials.py``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError, FetchError
from gitward.model.cluster import Cluster
from gitward.model.foreign import CONVERTED_FROM_ANNOTATION
from gitward.model.receiver import RECEIVER_SECRET_KEY, Receiver
from gitward.model.repository import Repository
from gitward.sources.credentials import GitCredentials
from gitward.store.private import PRIVATE_FILE, private_folder

log = logging.getLogger("gitward.engine")

#: Keys of a Repository's Secret (gitward's own, then Flux's spellings of the SSH ones).
USERNAME, PASSWORD, BEARER_TOKEN = "username", "password", "bearerToken"
SSH_KEYS = (("sshPrivateKey", "knownHosts"), ("identity", "known_hosts"))


class ClusterSecrets:
    """Reads Secrets through ``client``; files it must write go to ``folder``."""

    def __init__(self, client: KubeClient, folder: Path) -> None:
        self._client = client
        self._folder = folder

    async def data(self, namespace: str, name: str, *, owner: str) -> dict[str, str]:
        """The Secret's keys and values (decoded); ``owner`` ("Repository 'r'") names who wants it."""
        where = f"Secret {name!r} in namespace {namespace!r} (the secretRef of {owner})"
        try:
            found = await self._client.get("v1", "Secret", namespace, name)
        except ClusterError as error:
            if error.status == 403:
                raise FetchError(
                    f"{where} may not be read by gitward: it reads Secrets in its own namespace only, "
                    "so put the object and its Secret there",
                    reason="SecretUnreadable",
                ) from None
            raise FetchError(f"{where} could not be read: {error}", reason="SecretUnreadable") from None
        if found is None:
            raise FetchError(f"{where} not found", reason="SecretNotFound")
        out: dict[str, str] = {}
        for key, value in (found.get("data") or {}).items():
            try:
                out[str(key)] = base64.b64decode(str(value), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise FetchError(
                    f"{where}: key {key!r} is not base64 of UTF-8 text", reason="SecretInvalid"
                ) from None
        for key, value in (found.get("stringData") or {}).items():
            out[str(key)] = str(value)
        return out

    async def value(self, namespace: str, name: str, key: str, *, owner: str) -> str:
        """One key of a Secret (an OIDCProvider's client secret, a Receiver's or a Notification
        target's secret), surrounding whitespace trimmed; an absent or empty key is an error naming it."""
        found = ((await self.data(namespace, name, owner=owner)).get(key) or "").strip()
        if not found:
            raise FetchError(
                f"Secret {name!r} (the secretRef of {owner}) has no key {key!r}", reason="SecretInvalid"
            )
        return found

    async def config_map(self, namespace: str, name: str, *, owner: str) -> dict[str, str]:
        """A ConfigMap's ``data`` (a Helm ``valuesFrom``); ``owner`` names who wants it."""
        where = f"ConfigMap {name!r} in namespace {namespace!r} ({owner})"
        try:
            found = await self._client.get("v1", "ConfigMap", namespace, name)
        except ClusterError as error:
            raise FetchError(f"{where} could not be read: {error}", reason="ConfigMapUnreadable") from None
        if found is None:
            raise FetchError(f"{where} not found", reason="ConfigMapNotFound")
        return {str(key): str(value) for key, value in (found.get("data") or {}).items()}

    async def git_credentials(self, repository: Repository) -> GitCredentials:
        """The credentials of a Repository whose ``spec.secretRef`` is set."""
        ref = repository.spec.secret_ref
        assert ref is not None
        # a Flux GitRepository's secretRef is an implied Repository (model/flux.py): name the GitRepository
        owner = (
            repository.metadata.annotations.get(CONVERTED_FROM_ANNOTATION)
            or f"Repository {repository.name!r}"
        )
        data = await self.data(repository.metadata.namespace or "default", ref.name, owner=owner)
        return self.credentials_of(data, owner=owner, secret=ref.name, username=repository.spec.username)

    def credentials_of(
        self, data: Mapping[str, str], *, owner: str, secret: str, username: str | None = None
    ) -> GitCredentials:
        """Git credentials from a Secret's keys; SSH keys written to private files."""
        for key_name, hosts_name in SSH_KEYS:
            if data.get(key_name):
                stem = hashlib.sha256(f"{owner}/{secret}".encode()).hexdigest()[:16]
                key = self.private_file(f"{stem}.key", data[key_name].rstrip("\n") + "\n")
                hosts = (
                    self.private_file(f"{stem}.known_hosts", data[hosts_name])
                    if data.get(hosts_name)
                    else None
                )
                return GitCredentials(
                    username=data.get(USERNAME) or username, ssh_private_key=key, known_hosts=hosts
                )
        if data.get(BEARER_TOKEN):
            return GitCredentials(bearer_token=data[BEARER_TOKEN].strip())
        if data.get(PASSWORD):
            return GitCredentials(username=data.get(USERNAME) or username, password=data[PASSWORD].strip())
        raise FetchError(
            f"Secret {secret!r} (the secretRef of {owner}) holds none of the keys "
            f"{USERNAME}/{PASSWORD}, {BEARER_TOKEN}, sshPrivateKey (with knownHosts)",
            reason="SecretInvalid",
        )

    async def kubeconfig(self, cluster: Cluster) -> Path:
        """The kubeconfig of a Cluster whose ``spec.secretRef`` is set, as a private file."""
        ref = cluster.spec.secret_ref
        assert ref is not None
        owner = f"Cluster {cluster.name!r}"
        data = await self.data(cluster.metadata.namespace or "default", ref.name, owner=owner)
        if not data.get("kubeconfig"):
            raise FetchError(
                f"Secret {ref.name!r} (the secretRef of {owner}) has no key 'kubeconfig'",
                reason="SecretInvalid",
            )
        stem = hashlib.sha256(f"{owner}/{ref.name}".encode()).hexdigest()[:16]
        return self.private_file(f"{stem}.kubeconfig", data["kubeconfig"])

    def private_file(self, name: str, content: str) -> Path:
        """``content`` in the file ``name`` of the private folder (0600), rewritten only when it changed."""
        private_folder(self._folder)
        path = self._folder / name
        data = content.encode()
        try:
            if path.read_bytes() == data:
                return path
        except FileNotFoundError:
            pass
        tmp = self._folder / f".{name}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        tmp.replace(path)
        return path


async def receiver_secret(receiver: Receiver, secrets: ClusterSecrets | None) -> bytes:
    """A webhook Receiver's shared secret as it is now: its Secret's key ``secret`` (``secretRef``,
    ``run --from-cluster``) or its ``secretFile`` (an absolute path: ``Registry.webhook_receiver``);
    empty when it cannot be read, which is logged naming the Secret or the file, never a value."""
    spec, owner = receiver.spec, f"Receiver {receiver.name!r}"
    try:
        if spec.secret_ref is not None:
            if secrets is None:
                raise FetchError(f"{owner}: spec.secretRef is read only with gitward run --from-cluster")
            namespace = receiver.metadata.namespace or "default"
            value = await secrets.value(namespace, spec.secret_ref.name, RECEIVER_SECRET_KEY, owner=owner)
            return value.encode()
        if spec.secret_file is not None:
            return (await asyncio.to_thread(Path(spec.secret_file).read_bytes)).strip()
    except FetchError as error:
        log.warning("webhook receiver %s: %s", receiver.name, error.message)
    except OSError as error:
        log.warning("webhook receiver %s: secret file unreadable: %s", receiver.name, error.strerror)
    return b""
