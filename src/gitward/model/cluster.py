"""The ``Cluster`` object: a deployment target, named by ``Application.spec.destination.cluster``.

In standalone mode a target is a kubeconfig file and optionally one of its contexts. The name
``in-cluster`` means the cluster gitward itself runs in (or the current kubeconfig context) and needs
no Cluster object; defining one with that name overrides it.

Deliberately not here: reading the kubeconfig or connecting (cluster/), credentials from Secrets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gitward.model.common import FilePath, SpecModel, TopLevelObject

IN_CLUSTER = "in-cluster"


class ClusterSpec(SpecModel):
    kubeconfig: FilePath
    context: str | None = Field(default=None, min_length=1)


class Cluster(TopLevelObject):
    kind: Literal["Cluster"] = "Cluster"
    spec: ClusterSpec
