"""The order in which kinds are applied, so dependencies exist before their dependents.

Namespaces and CRDs go first (stage 0) and must be established before anything else is sent; then
cluster-wide policy and config; then workloads; webhooks and APIServices last, so that a webhook
whose backend is not up yet does not block the objects that start it.
"""

from __future__ import annotations

from gitward.core.keys import ResourceKey

_KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]
_RANK = {kind: i for i, kind in enumerate(_KIND_ORDER)}

#: Kinds that must exist (and, for CRDs, be established) before anything else is applied.
FIRST_STAGE_KINDS = frozenset({"Namespace", "CustomResourceDefinition"})

#: Kinds whose live data must never be shown.
SECRET_KINDS = frozenset({"Secret"})


def kind_rank(kind: str) -> int:
    """Known kinds by their place in the list; unknown kinds (custom resources) after all of them."""
    return _RANK.get(kind, len(_KIND_ORDER))


def apply_order(key: ResourceKey) -> tuple[int, int, str, str, str]:
    """Total order: first stage, then kind rank, then namespace and name for determinism."""
    stage = 0 if key.kind in FIRST_STAGE_KINDS and key.group in ("", "apiextensions.k8s.io") else 1
    return (stage, kind_rank(key.kind), key.group, key.namespace, key.name)


def is_first_stage(key: ResourceKey) -> bool:
    return apply_order(key)[0] == 0
