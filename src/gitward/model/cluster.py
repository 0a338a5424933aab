"""The ``Cluster`` object: a deployment target, named by ``Application.spec.destination.cluster``.

In standalone mode a target is a kubeconfig file and optionally one of its contexts; with ``run
--from-cluster`` it is the ``kubeconfig`` key of the Secret ``secretRef`` names (in the Cluster's
own namespace), since a file path means nothing to gitward in a pod (``model/secretrefs.py``). The name
``in-cluster`` means the cluster gitward itself runs in (or the current kubeconfig context) and needs
no Cluster object; defining one with that name overrides it.

Deliberately not here: reading the kubeconfig or the Secret, connecting (cluster/, reconcile/).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from gitward.model.common import FilePath, SpecModel, TopLevelObject
from gitward.model.repository import LocalSecretRef

IN_CLUSTER = "in-cluster"


class ClusterSpec(SpecModel):
    kubeconfig: FilePath | None = None
    secret_ref: LocalSecretRef | None = None  # a Secret whose ``kubeconfig`` key is the kubeconfig
    context: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_kubeconfig(self) -> Self:
        if (self.kubeconfig is None) == (self.secret_ref is None):
            raise ValueError(
                "exactly one of kubeconfig (a file) and secretRef (a Secret) names the kubeconfig"
            )
        return self


class Cluster(TopLevelObject):
    kind: Literal["Cluster"] = "Cluster"
    spec: ClusterSpec
