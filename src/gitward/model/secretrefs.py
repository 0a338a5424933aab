"""Where credentials may come from, by where the config is read from.

A Repository's credentials, a Cluster's kubeconfig, an OIDCProvider's client secret, a Receiver's
shared secret and a Notification target's secrets come from files (``passwordFile``,
``bearerTokenFile``, ``sshPrivateKeyFile``, ``knownHostsFile``; ``kubeconfig``;
``clientSecretFile``; ``secretFile``; ``secretFile``, ``urlFile``, ``tokenFile``) or from a Secret
(``secretRef``, in the object's own namespace). Which one is up to where the config is read:

- ``run --from-cluster`` (``in_cluster``): the objects are custom resources, and gitward runs in a
  pod where a path in someone's custom resource names nothing they put there (and would let whoever
  may write the object send a file of gitward's pod, its service-account token say, to a server of
  their choice as a password, a client secret or an API token), so a field naming a file is refused
  and ``secretRef`` is the way.
- the file config (``in_files``): gitward has no management cluster to read a Secret from (the
  ``in-cluster`` destination is where apps deploy, not where gitward reads its config), so
  ``secretRef`` is refused; a Secret mounted as a volume is named by the ``*File`` fields instead.

An Application's Helm ``valuesFrom`` reads ConfigMaps and Secrets of the management cluster, so the
file config refuses it the same way.

Not ruled here: the key files of ``model/trust.py`` (signature keys, SOPS keys). They are keys gitward
uses itself, never sent anywhere: public keys (which may as well be written inline) and SOPS keys
mounted into gitward's pod by its operator, read in either mode (the README's "Credentials from
Secrets" says who may name them).

A refused object is left out of the config with an error naming the field and the way out, as any
object the loader refuses (its last good state is kept). Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from gitward.model.access import CLIENT_SECRET_KEY, OIDCProvider
from gitward.model.application import Application
from gitward.model.cluster import Cluster
from gitward.model.errors import ObjectError
from gitward.model.loader import LoadedConfig
from gitward.model.notification import SECRET_KEYS, Notification
from gitward.model.receiver import RECEIVER_SECRET_KEY, Receiver
from gitward.model.repository import Repository


class _Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=_Named)


_CLUSTER_MODE = "gitward run --from-cluster"


def _repository_files(repo: Repository) -> str:
    fields = repo.spec.file_fields()
    if not fields:
        return ""
    return (
        f"{', '.join(fields)} name files, which gitward cannot read when its config comes from the "
        "cluster: put the credentials in a Secret in the Repository's namespace and name it with "
        "spec.secretRef"
    )


def _cluster_file(cluster: Cluster) -> str:
    if cluster.spec.kubeconfig is None:
        return ""
    return (
        "kubeconfig names a file, which gitward cannot read when its config comes from the cluster: "
        "put the kubeconfig under the key 'kubeconfig' of a Secret in the Cluster's namespace and name "
        "it with spec.secretRef"
    )


def _oidc_client_secret_file(provider: OIDCProvider) -> str:
    if provider.spec.client_secret_file is None:
        return ""
    return (
        "clientSecretFile names a file, which gitward cannot read when its config comes from the "
        f"cluster: put the client secret under the key {CLIENT_SECRET_KEY!r} of a Secret in the "
        "OIDCProvider's namespace and name it with spec.secretRef"
    )


def _receiver_secret_file(receiver: Receiver) -> str:
    if receiver.spec.secret_file is None:
        return ""
    return (
        "secretFile names a file, which gitward cannot read when its config comes from the cluster: "
        f"put the shared secret under the key {RECEIVER_SECRET_KEY!r} of a Secret in the Receiver's "
        "namespace and name it with spec.secretRef"
    )


def _notification_files(notification: Notification) -> str:
    named = [
        f"spec.targets[{i}].{field}"
        for i, target in enumerate(notification.spec.targets)
        for field in target.file_fields()
    ]
    if not named:
        return ""
    keys = ", ".join(repr(key) for key in SECRET_KEYS.values())
    return (
        f"{', '.join(named)} name files, which gitward cannot read when its config comes from the "
        f"cluster: put the target's secrets (keys {keys}) in a Secret in the Notification's namespace "
        "and name it with the target's secretRef"
    )


def _secret_ref_in_files(instead: str) -> Callable[[Any], str]:
    """The rule refusing ``spec.secretRef`` in a config file, saying what to name ``instead``."""

    def refused(obj: Any) -> str:
        if obj.spec.secret_ref is None:
            return ""
        return (
            f"spec.secretRef needs the config to come from the cluster ({_CLUSTER_MODE}); in a config "
            f"file {instead}"
        )

    return refused


_repository_secret: Callable[[Repository], str] = _secret_ref_in_files(
    "name the credentials' files (passwordFile, bearerTokenFile, sshPrivateKeyFile, "
    "knownHostsFile), a mounted Secret for instance"
)


_cluster_secret: Callable[[Cluster], str] = _secret_ref_in_files(
    "name the kubeconfig file with spec.kubeconfig"
)


_oidc_secret_ref: Callable[[OIDCProvider], str] = _secret_ref_in_files(
    "name the client secret's file with spec.clientSecretFile"
)


_receiver_secret_ref: Callable[[Receiver], str] = _secret_ref_in_files(
    "name the secret's file with spec.secretFile"
)


def _notification_secret_refs(notification: Notification) -> str:
    named = [
        f"spec.targets[{i}].secretRef"
        for i, target in enumerate(notification.spec.targets)
        if target.secret_ref is not None
    ]
    if not named:
        return ""
    return (
        f"{', '.join(named)} needs the config to come from the cluster ({_CLUSTER_MODE}); in a config "
        "file name the secrets' files (secretFile, urlFile, tokenFile)"
    )


def _application_values_from(app: Application) -> str:
    helm = app.spec.source.helm
    if helm is None or not helm.values_from:
        return ""
    return (
        f"spec.source.helm.valuesFrom needs the config to come from the cluster ({_CLUSTER_MODE}), "
        "which reads the ConfigMaps and Secrets; in a config file write the values in "
        "spec.source.helm.values or valueFiles"
    )


def in_cluster(config: LoadedConfig) -> LoadedConfig:
    """The config read from custom resources: objects naming files refused."""
    return _refusing(
        config,
        repository=_repository_files,
        cluster=_cluster_file,
        oidc_provider=_oidc_client_secret_file,
        receiver=_receiver_secret_file,
        notification=_notification_files,
    )


def in_files(config: LoadedConfig) -> LoadedConfig:
    """The file config: objects naming a Secret (or reading the cluster's, ``valuesFrom``) refused."""
    return _refusing(
        config,
        repository=_repository_secret,
        cluster=_cluster_secret,
        oidc_provider=_oidc_secret_ref,
        receiver=_receiver_secret_ref,
        notification=_notification_secret_refs,
        application=_application_values_from,
    )


def _refusing(
    config: LoadedConfig,
    *,
    repository: Callable[[Repository], str] = lambda _r: "",
    cluster: Callable[[Cluster], str] = lambda _c: "",
    application: Callable[[Application], str] = lambda _a: "",
    oidc_provider: Callable[[OIDCProvider], str] = lambda _p: "",
    receiver: Callable[[Receiver], str] = lambda _r: "",
    notification: Callable[[Notification], str] = lambda _n: "",
) -> LoadedConfig:
    """``config`` without the objects a rule refuses (each rule says why, "" to accept)."""
    errors: list[ObjectError] = []

    def kept(kind: str, objects: Iterable[T], why: Callable[[T], str]) -> tuple[T, ...]:
        out: list[T] = []
        for obj in objects:
            reason = why(obj)
            if reason:
                errors.append(ObjectError(kind, obj.name, reason, -1))
            else:
                out.append(obj)
        return tuple(out)

    repositories = kept("Repository", config.repositories, repository)
    clusters = kept("Cluster", config.clusters, cluster)
    applications = kept("Application", config.applications, application)
    oidc_providers = kept("OIDCProvider", config.oidc_providers, oidc_provider)
    receivers = kept("Receiver", config.receivers, receiver)
    notifications = kept("Notification", config.notifications, notification)
    if not errors:
        return config
    return dataclasses.replace(
        config,
        repositories=repositories,
        clusters=clusters,
        applications=applications,
        oidc_providers=oidc_providers,
        receivers=receivers,
        notifications=notifications,
        errors=config.errors + tuple(errors),
    )
