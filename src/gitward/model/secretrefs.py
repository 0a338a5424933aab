"""Where credentials may come from, by where the config is read from.

A Repository's credentials and a Cluster's kubeconfig come from files (``passwordFile``,
``bearerTokenFile``, ``sshPrivateKeyFile``, ``knownHostsFile``; ``kubeconfig``) or from a Secret
(``secretRef``, in the object's own namespace). Which one is up to where the config is read:

- ``run --from-cluster`` (``in_cluster``): the objects are custom resources, and gitward runs in a
  pod where a path in someone's custom resource names nothing they put there, so a field naming a
  file is refused and ``secretRef`` is the way.
- the file config (``in_files``): gitward has no management cluster to read a Secret from (the
  ``in-cluster`` destination is where apps deploy, not where gitward reads its config), so
  ``secretRef`` is refused; a Secret mounted as a volume is named by the ``*File`` fields instead.

A refused object is left out of the config with an error naming the field and the way out, as any
object the loader refuses (its last good state is kept). Pure.
"""

from __future__ import annotations

import dataclasses

from gitward.model.cluster import Cluster
from gitward.model.errors import ObjectError
from gitward.model.loader import LoadedConfig
from gitward.model.repository import Repository


def in_cluster(config: LoadedConfig) -> LoadedConfig:
    """The config read from custom resources: Repositories and Clusters naming files refused."""
    errors: list[ObjectError] = []
    repositories: list[Repository] = []
    for repo in config.repositories:
        fields = repo.spec.file_fields()
        if fields:
            errors.append(
                ObjectError(
                    "Repository",
                    repo.name,
                    f"{', '.join(fields)} name files, which gitward cannot read when its config comes "
                    "from the cluster: put the credentials in a Secret in the Repository's namespace "
                    "and name it with spec.secretRef",
                    -1,
                )
            )
        else:
            repositories.append(repo)
    clusters: list[Cluster] = []
    for cluster in config.clusters:
        if cluster.spec.kubeconfig is not None:
            errors.append(
                ObjectError(
                    "Cluster",
                    cluster.name,
                    "kubeconfig names a file, which gitward cannot read when its config comes from the "
                    "cluster: put the kubeconfig under the key 'kubeconfig' of a Secret in the Cluster's "
                    "namespace and name it with spec.secretRef",
                    -1,
                )
            )
        else:
            clusters.append(cluster)
    return _refused(config, errors, repositories, clusters)


def in_files(config: LoadedConfig) -> LoadedConfig:
    """The file config: Repositories and Clusters naming a Secret refused."""
    errors: list[ObjectError] = []
    repositories: list[Repository] = []
    for repo in config.repositories:
        if repo.spec.secret_ref is not None:
            errors.append(
                ObjectError(
                    "Repository",
                    repo.name,
                    "spec.secretRef needs the config to come from the cluster (gitward run "
                    "--from-cluster); in a config file name the credentials' files (passwordFile, "
                    "bearerTokenFile, sshPrivateKeyFile, knownHostsFile), a mounted Secret for instance",
                    -1,
                )
            )
        else:
            repositories.append(repo)
    clusters: list[Cluster] = []
    for cluster in config.clusters:
        if cluster.spec.secret_ref is not None:
            errors.append(
                ObjectError(
                    "Cluster",
                    cluster.name,
                    "spec.secretRef needs the config to come from the cluster (gitward run "
                    "--from-cluster); in a config file name the kubeconfig file with spec.kubeconfig",
                    -1,
                )
            )
        else:
            clusters.append(cluster)
    return _refused(config, errors, repositories, clusters)


def _refused(
    config: LoadedConfig, errors: list[ObjectError], repositories: list[Repository], clusters: list[Cluster]
) -> LoadedConfig:
    if not errors:
        return config
    return dataclasses.replace(
        config,
        repositories=tuple(repositories),
        clusters=tuple(clusters),
        errors=config.errors + tuple(errors),
    )
