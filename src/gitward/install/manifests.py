"""Everything that runs gitward in a cluster, as plain manifests: one builder for ``gitward install``,
the kustomize base and the Helm chart under ``deploy/`` (made from this by ``python -m devtools
deploy-manifests``).

What it makes, in apply order:

- the CRDs (``model/crds.py``);
- the Namespace and the ``gitward`` ServiceAccount;
- least-privilege RBAC for the controller itself: a ClusterRole to read and watch the gitward kinds,
  write their ``status``, and create Events (on Applications in any namespace); a Role in gitward's
  namespace for Leases (leader election, shard membership) and for reading Secrets (credentials) --
  Secrets elsewhere stay out of reach;
- separately, the *apply* ClusterRole and its binding: the management cluster is the destination
  ``in-cluster``, and syncing to it needs whatever the apps deploy. It is ``*`` on everything by
  default, in objects of its own (``gitward-apply``) so an operator can replace or drop the binding
  (``apply_role=False``) and grant less; the controller's own RBAC never depends on it;
- the Deployment (non-root, read-only root filesystem, probes on ``/healthz`` and ``/readyz``, args
  ``run --from-cluster``), the Service for the API, webhooks and metrics, and a PodDisruptionBudget.
  With a PostgreSQL ``state`` the pods share it and run as replicas (``run --ha``: each is named by
  its pod, announces its pod IP, and reads the database password from ``state_secret``); with the
  default SQLite file each pod has its own, so more than one replica is refused (``refusal``).

``gitward install`` applies ``Install.everything``, or ``Install.applicable`` (everything but the
workload) with ``--no-workload``. No image is published yet: ``WORKLOAD_NOTE`` says so.

Pure: no I/O. Cluster-scoped bindings are named after the namespace, so two installs (say, a test
and a production one) can share a cluster; the ClusterRoles and the CRDs are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import yaml

import gitward
from gitward.model.common import GROUP
from gitward.model.crds import KINDS, crds

NAME: Final = "gitward"
DEFAULT_NAMESPACE: Final = "gitward"
DEFAULT_IMAGE: Final = f"gitward:{gitward.__version__}"
PORT: Final = 8080  # ``gitward run --listen``; the API, webhooks, /metrics and the probes
STATE_DIR: Final = "/var/lib/gitward"
CONTROLLER_ROLE: Final = "gitward-controller"
APPLY_ROLE: Final = "gitward-apply"
FIELD_MANAGER: Final = "gitward"

WORKLOAD_NOTE: Final = (
    "The Deployment runs `gitward run --from-cluster` from the image named by --image (the Helm "
    "value `image`): no image of gitward is published yet, so build one and name it."
)

_LABELS: Final = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": NAME}
_SELECTOR: Final = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "controller"}


@dataclass(frozen=True)
class Settings:
    namespace: str = DEFAULT_NAMESPACE
    replicas: int = 1
    image: str = DEFAULT_IMAGE
    apply_role: bool = True  # the separate ``gitward-apply`` ClusterRole and binding
    state: str = ""  # a PostgreSQL URL the replicas share (no password); "": a SQLite file per pod
    state_secret: str = ""  # a Secret in ``namespace`` whose key ``password`` is the database's


REPLICAS_NEED_POSTGRESQL: Final = (
    "more than one replica needs a state database they share: --state postgresql://USER@HOST:PORT/DB "
    "(a SQLite file belongs to one pod, and replicas that do not share one would each run every app)"
)


def refusal(s: Settings) -> str | None:
    """Why these settings cannot be installed, or None."""
    shared = s.state.lower().startswith(("postgresql://", "postgres://"))
    if s.state and not shared:
        return "--state takes a postgresql://USER@HOST:PORT/DB URL (without it: a SQLite file in the pod)"
    if s.replicas > 1 and not shared:
        return REPLICAS_NEED_POSTGRESQL
    if s.state_secret and not shared:
        return "--state-secret goes with --state postgresql://..."
    return None


@dataclass(frozen=True)
class Install:
    """The manifests in groups, each in apply order."""

    crds: tuple[dict[str, Any], ...]
    access: tuple[dict[str, Any], ...]  # Namespace, ServiceAccount, the controller's RBAC
    apply_access: tuple[dict[str, Any], ...]  # the separate apply ClusterRole and binding
    workload: tuple[dict[str, Any], ...]  # Deployment, Service, PodDisruptionBudget

    @property
    def applicable(self) -> tuple[dict[str, Any], ...]:
        """Everything but the workload (``gitward install --no-workload``)."""
        return (*self.crds, *self.access, *self.apply_access)

    @property
    def everything(self) -> tuple[dict[str, Any], ...]:
        return (*self.crds, *self.access, *self.apply_access, *self.workload)


def build(settings: Settings | None = None) -> Install:
    s = settings or Settings()
    return Install(
        crds=tuple(crds()),
        access=(namespace(s), service_account(s), *controller_rbac(s)),
        apply_access=apply_rbac(s) if s.apply_role else (),
        workload=(deployment(s), service(s), disruption_budget(s)),
    )


def _meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**_LABELS, **labels}
    return meta


def namespace(s: Settings) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(s.namespace)}


def service_account(s: Settings) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, s.namespace)}


def _subjects(s: Settings) -> list[dict[str, Any]]:
    return [{"kind": "ServiceAccount", "name": NAME, "namespace": s.namespace}]


def controller_rbac(s: Settings) -> tuple[dict[str, Any], ...]:
    plurals = sorted(info.plural for info in KINDS.values())
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(CONTROLLER_ROLE),
        "rules": [
            {"apiGroups": [GROUP], "resources": plurals, "verbs": ["get", "list", "watch"]},
            {
                "apiGroups": [GROUP],
                "resources": [f"{p}/status" for p in plurals],
                "verbs": ["get", "patch", "update"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        ],
    }
    cluster_binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(f"{CONTROLLER_ROLE}-{s.namespace}"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CONTROLLER_ROLE},
        "subjects": _subjects(s),
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(CONTROLLER_ROLE, s.namespace),
        "rules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(CONTROLLER_ROLE, s.namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": CONTROLLER_ROLE},
        "subjects": _subjects(s),
    }
    return (cluster_role, cluster_binding, role, binding)


def apply_rbac(s: Settings) -> tuple[dict[str, Any], ...]:
    """What syncing to ``in-cluster`` needs: everything, until an operator binds a narrower role."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(APPLY_ROLE),
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(f"{APPLY_ROLE}-{s.namespace}"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": APPLY_ROLE},
        "subjects": _subjects(s),
    }
    return (role, binding)


def deployment(s: Settings) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    container = {
        "name": NAME,
        "image": s.image,
        "args": [
            "run",
            "--from-cluster",
            "--listen",
            f"0.0.0.0:{PORT}",
            "--state",
            s.state or f"{STATE_DIR}/state/state.db",
            "--log-format",
            "json",
            *(["--ha"] if s.state else []),
        ],
        "env": [
            {"name": "HOME", "value": f"{STATE_DIR}/home"},
            {"name": "TMPDIR", "value": "/tmp"},
            *(_replica_env(s) if s.state else []),
        ],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "livenessProbe": probe,
        "readinessProbe": {**probe, "httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "state", "mountPath": STATE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, s.namespace, **{"app.kubernetes.io/component": "controller"}),
        "spec": {
            "replicas": s.replicas,
            "selector": {"matchLabels": dict(_SELECTOR)},
            "template": {
                "metadata": {"labels": {**_LABELS, **_SELECTOR}},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "fsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "state", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def _replica_env(s: Settings) -> list[dict[str, Any]]:
    """What ``run --ha`` reads in a pod: its name (the replica id), its IP (the address announced in
    its Lease), and the database password from ``state_secret``."""
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    if s.state_secret:
        secret = {"name": s.state_secret, "key": "password"}
        env.append({"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": secret}})
    return env


def service(s: Settings) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(NAME, s.namespace),
        "spec": {
            "selector": dict(_SELECTOR),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(s: Settings) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(NAME, s.namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(_SELECTOR)}},
    }


def to_yaml(documents: tuple[dict[str, Any], ...] | list[dict[str, Any]], *, header: str = "") -> str:
    """A multi-document YAML stream; ``header`` lines become ``#`` comments at the top."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    body = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True, width=110)
    return comment + body
