"""gitward.install: the manifests that run gitward in a cluster (pure, no I/O).

``build`` gives the CRDs, the namespace and service account, the controller's RBAC, the separate apply
role, and the workload; ``gitward install``/``crds`` print or apply them, and ``deploy/`` holds them as
a kustomize base and a Helm chart.
"""

from gitward.install.manifests import WORKLOAD_NOTE, Install, Settings, build, refusal, to_yaml

__all__ = ["WORKLOAD_NOTE", "Install", "Settings", "build", "refusal", "to_yaml"]
