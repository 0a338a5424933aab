"""Dispatch a live object to the rule that decides its health, and aggregate an app's health.

The order (docs/architecture.md, "Health"), first answer wins:
1. the user's ``HealthCheck`` objects for the object's group and kind, by name (``declared``);
2. health plugins installed as packages, by entry point name (``plugins``); a plugin may answer
   None to pass;
3. gitward's built-in check for the kind (``BUILTIN_CHECKS``, then the Crossplane rule, then the
   kinds with no notion of health, which are Healthy as soon as they exist);
4. the generic rules (``generic``): kstatus conditions and ``observedGeneration``.
So a user overrides a plugin and a plugin overrides gitward, as Argo CD lets its users override its
built-in checks. ``HealthRules`` holds the first two for a running engine; ``health_of`` is the same
order with neither.

Deliberately not here: waiting and timeouts (apply/), reading objects (cluster/).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward.core.keys import group_of
from gitward.core.status import Health, HealthStatus
from gitward.health import declared
from gitward.health.apiservice import apiservice_health
from gitward.health.certmanager import certificate_health, issuer_health
from gitward.health.common import HealthCheck, healthy, unknown
from gitward.health.crd import crd_health
from gitward.health.crossplane import crossplane_health, is_crossplane_resource
from gitward.health.daemonset import daemonset_health
from gitward.health.decision import Decision, Source
from gitward.health.deployment import deployment_health
from gitward.health.externalsecrets import external_secrets_health
from gitward.health.flux import flux_health
from gitward.health.gatewayapi import ROUTE_KINDS, gateway_health, route_health
from gitward.health.generic import generic_health
from gitward.health.hpa import hpa_health
from gitward.health.ingress import ingress_health
from gitward.health.istio import istio_health
from gitward.health.job import job_health
from gitward.health.keda import keda_health
from gitward.health.plugins import LoadedPlugins, PluginError, group_kind_text, unknown_from
from gitward.health.pod import pod_health
from gitward.health.pvc import pvc_health
from gitward.health.replicaset import replicaset_health
from gitward.health.rollouts import rollout_health
from gitward.health.service import service_health
from gitward.health.statefulset import statefulset_health
from gitward.model.healthcheck import HealthCheck as HealthCheckObject

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
    # Custom resources users meet most, from each project's documented status.
    ("cert-manager.io", "Certificate"): certificate_health,
    ("cert-manager.io", "Issuer"): issuer_health,
    ("cert-manager.io", "ClusterIssuer"): issuer_health,
    ("argoproj.io", "Rollout"): rollout_health,
    **{
        (group, kind): flux_health
        for group, kinds in (
            ("kustomize.toolkit.fluxcd.io", ("Kustomization",)),
            ("helm.toolkit.fluxcd.io", ("HelmRelease",)),
            (
                "source.toolkit.fluxcd.io",
                ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"),
            ),
        )
        for kind in kinds
    },
    ("keda.sh", "ScaledObject"): keda_health,
    ("keda.sh", "ScaledJob"): keda_health,
    **{
        ("external-secrets.io", kind): external_secrets_health
        for kind in ("ExternalSecret", "ClusterExternalSecret", "SecretStore", "ClusterSecretStore")
    },
    **{
        ("networking.istio.io", kind): istio_health
        for kind in ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar")
    },
    **{("gateway.networking.k8s.io", kind): route_health for kind in ROUTE_KINDS},
    ("gateway.networking.k8s.io", "Gateway"): gateway_health,
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
    """Health of one live object by the built-in and generic rules; ``None`` (not in the cluster)
    is Missing. ``checks`` come before the built-in ones (tests, callers with their own table).

    A check that trips over a malformed status yields Unknown rather than an exception: one odd
    object must not break the health of the whole app.
    """
    return builtin_decision(obj, checks=checks).health


def builtin_decision(
    obj: Mapping[str, Any] | None,
    *,
    checks: Mapping[tuple[str, str], HealthCheck] | None = None,
) -> Decision:
    """Steps 3 and 4 of the order (the module doc): gitward's own check for the kind, else generic."""
    if obj is None:
        return Decision(Health(HealthStatus.MISSING, "object does not exist"), Source.MISSING, "")
    group_kind = group_kind_of(obj)
    name = group_kind_text(*group_kind)
    check = (checks or {}).get(group_kind) or BUILTIN_CHECKS.get(group_kind)
    if check is None and is_crossplane_resource(group_kind[0], obj):
        check, name = crossplane_health, "Crossplane resource"
    if check is None:
        if group_kind in NO_HEALTH:
            return Decision(healthy(), Source.BUILTIN, name, "no health to wait for: Healthy once it exists")
        return Decision(_guarded(generic_health, obj), Source.GENERIC, "kstatus conditions")
    return Decision(_guarded(check, obj), Source.BUILTIN, name)


def group_kind_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    return (group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", "")))


def _guarded(check: HealthCheck, obj: Mapping[str, Any]) -> Health:
    try:
        return check(obj)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return unknown(f"cannot assess health: {type(exc).__name__}")


class HealthRules:
    """The whole order for a running engine: the config's HealthChecks (``configure``, at every
    load of the config) and the installed plugins (given once, at start), over the built-in rules.

    One object lives as long as the engine; ``configure`` swaps the table in one assignment, so a
    reader never sees half of a new config.
    """

    def __init__(self, plugins: LoadedPlugins | None = None) -> None:
        self.plugins = plugins or LoadedPlugins({})
        self._declared: Mapping[tuple[str, str], tuple[HealthCheckObject, ...]] = {}

    def configure(
        self, checks: Iterable[HealthCheckObject], *, refused: frozenset[str] = frozenset()
    ) -> frozenset[tuple[str, str]]:
        """Take the config's HealthChecks. One the config refused (``refused``: its name) keeps its
        last good version, as a refused Application keeps its last good spec: a typo in a rule must
        not hand its kind to other rules meanwhile. Returns the (group, kind) pairs whose rules changed,
        so the apps that own such objects can be assessed again."""
        kept = {c.name: c for cs in self._declared.values() for c in cs if c.name in refused}
        chosen = {c.name: c for c in checks} | kept
        table: dict[tuple[str, str], list[HealthCheckObject]] = {}
        for check in sorted(chosen.values(), key=lambda c: c.name):
            table.setdefault(check.group_kind, []).append(check)
        before, self._declared = self._declared, {k: tuple(v) for k, v in table.items()}
        return frozenset(
            k for k in before.keys() | self._declared.keys() if before.get(k) != self._declared.get(k)
        )

    @property
    def declared_kinds(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._declared)

    def assess(self, obj: Mapping[str, Any] | None) -> Health:
        return self.explain(obj).health

    def explain(self, obj: Mapping[str, Any] | None) -> Decision:
        """The decision and the sources passed over before it (``Decision.passed``)."""
        if obj is None:
            return builtin_decision(None)
        group_kind = group_kind_of(obj)
        passed: list[str] = []
        for check in self._declared.get(group_kind, ()):
            decision = declared.evaluate(check, obj)
            if decision is not None:
                return decision.with_passed(passed)
            passed.append(f"HealthCheck {check.name}: no rule matched")
        for plugin in self.plugins.checks.get(group_kind, ()):
            try:
                answer = plugin(obj)
            except PluginError as error:
                health = unknown_from(plugin, error)
                return Decision(health, Source.PLUGIN, plugin.plugin, plugin.target).with_passed(passed)
            if answer is not None:
                return Decision(answer, Source.PLUGIN, plugin.plugin, plugin.target).with_passed(passed)
            passed.append(f"plugin {plugin.plugin}: no opinion (returned None)")
        return builtin_decision(obj).with_passed(passed)


def aggregate(healths: Iterable[Health]) -> Health:
    """The worst status; its message is the first non-empty one among objects in that status."""
    items = list(healths)
    worst = HealthStatus.worst([h.status for h in items])
    message = next((h.message for h in items if h.status is worst and h.message), "")
    return Health(worst, message)
