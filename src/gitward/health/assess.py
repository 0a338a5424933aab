"""Dispatch a live object to the health check of its kind, and aggregate an app's health.

The table maps (group, kind) to one small check per kind; anything not in it goes to the generic
condition-based check, except kinds with no notion of health (config, RBAC...), which are Healthy
as soon as they exist. Callers may pass extra checks (plugins) that take precedence.

Deliberately not here: waiting and timeouts (apply/), reading objects (cluster/).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.keys import group_of
from gitward.core.status import Health, HealthStatus
from gitward.health.apiservice import apiservice_health
from gitward.health.common import HealthCheck, healthy, unknown
from gitward.health.crd import crd_health
from gitward.health.daemonset import daemonset_health
from gitward.health.deployment import deployment_health
from gitward.health.generic import generic_health
from gitward.health.hpa import hpa_health
from gitward.health.ingress import ingress_health
from gitward.health.job import job_health
from gitward.health.pod import pod_health
from gitward.health.pvc import pvc_health
from gitward.health.replicaset import replicaset_health
from gitward.health.service import service_health
from gitward.health.statefulset import statefulset_health

BUILTIN_CHECKS: Mapping[tuple[str, str], HealthCheck] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): statefulset_health,
    ("apps", "DaemonSet"): daemonset_health,
    ("apps", "ReplicaSet"): replicaset_health,
    ("", "ReplicationController"): replicaset_health,
    ("", "Pod"): pod_health,
    ("batch", "Job"): job_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("", "Service"): service_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("extensions", "Ingress"): ingress_health,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_health,
    ("apiregistration.k8s.io", "APIService"): apiservice_health,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_health,
}

#: Core kinds that are what they say as soon as they exist.
NO_HEALTH: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "Namespace"),
        ("", "Endpoints"),
        ("", "LimitRange"),
        ("", "ResourceQuota"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "IngressClass"),
        ("policy", "PodDisruptionBudget"),
        ("storage.k8s.io", "StorageClass"),
        ("batch", "CronJob"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    }
)


def health_of(
    obj: Mapping[str, Any] | None,
    *,
    checks: Mapping[tuple[str, str], HealthCheck] | None = None,
) -> Health:
    """Health of one live object; ``None`` (not in the cluster) is Missing.

    A check that trips over a malformed status yields Unknown rather than an exception: one odd
    object must not break the health of the whole app.
    """
    if obj is None:
        return Health(HealthStatus.MISSING, "object does not exist")
    group_kind = (group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", "")))
    check = (checks or {}).get(group_kind) or BUILTIN_CHECKS.get(group_kind)
    if check is None:
        if group_kind in NO_HEALTH:
            return healthy()
        check = generic_health
    try:
        return check(obj)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return unknown(f"cannot assess health: {type(exc).__name__}")


def aggregate(healths: Iterable[Health]) -> Health:
    """The worst status; its message is the first non-empty one among objects in that status."""
    items = list(healths)
    worst = HealthStatus.worst([h.status for h in items])
    message = next((h.message for h in items if h.status is worst and h.message), "")
    return Health(worst, message)
