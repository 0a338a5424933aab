"""The fleet the scale benchmarks deploy: N apps in one Git repository, each a Deployment, a Service, a
ConfigMap and a ServiceAccount in its own namespace, plus the gitward config that runs them.

The same objects serve every contender: gitward reads ``apps/app-NNNN/objects.yaml`` from Git, the
kubectl baseline gets them in one file with their namespaces filled in, Flux gets the same paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from devtools.gitservers import WorkRepo, create_repo

RECEIVER = "bench-push"
KINDS = ("ServiceAccount", "ConfigMap", "Service", "Deployment")  # B1-B5: four objects per app
B7_KINDS = ("ConfigMap", "Deployment")  # B7: 10,000 apps of two objects each
SECRET = "bench-webhook-secret-0123456789abcdef"


def app_name(index: int) -> str:
    return f"app-{index:04d}"


def namespace(index: int, prefix: str = "gw") -> str:
    return f"{prefix}-{app_name(index)}"


def app_path(index: int) -> str:
    return f"apps/{app_name(index)}"


def app_objects(
    index: int, *, revision: int = 0, ns: str | None = None, kinds: tuple[str, ...] = KINDS
) -> list[dict[str, Any]]:
    """The objects of app ``index`` (those of ``kinds``, in this order: ServiceAccount, ConfigMap,
    Service, Deployment); ``revision`` goes into the ConfigMap (what B2 commits change)."""
    name = app_name(index)

    def meta() -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "labels": {"app": name, "bench": "scale"}}
        if ns is not None:
            out["namespace"] = ns
        return out

    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]},
    }
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(),
            "data": {"key": f"value-{index}", "revision": str(revision)},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(),
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": template},
        },
    ]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"no such kind in the workload: {', '.join(sorted(unknown))}")
    return [o for o in objects if o["kind"] in kinds]


def app_file(index: int, *, revision: int = 0, kinds: tuple[str, ...] = KINDS) -> str:
    return yaml.safe_dump_all(app_objects(index, revision=revision, kinds=kinds))


def create_fleet_repo(root: Path, apps: int, *, kinds: tuple[str, ...] = KINDS) -> WorkRepo:
    """A bare repository (``root/apps.git``) holding ``apps`` apps in one commit, and its work clone."""
    files: dict[str, str | bytes | None] = {
        f"{app_path(i)}/objects.yaml": app_file(i, kinds=kinds) for i in range(apps)
    }
    return create_repo(root / "apps.git", root / "work", files)


def kubectl_manifest(apps: int, prefix: str = "kc", *, kinds: tuple[str, ...] = KINDS) -> str:
    """Every object of the fleet with its namespace set, namespaces first: one ``kubectl apply`` file."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace(i, prefix)}}
        for i in range(apps)
    ]
    for i in range(apps):
        docs.extend(app_objects(i, ns=namespace(i, prefix), kinds=kinds))
    return yaml.safe_dump_all(docs)


def gitward_config(
    *,
    clusters: dict[str, Path],
    repo_url: str,
    apps: int,
    interval: str,
    secret_file: Path,
) -> str:
    """Cluster objects, one Application per app (spread round-robin over ``clusters``), a Receiver."""
    names = sorted(clusters)
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"kubeconfig": str(clusters[name])},
        }
        for name in names
    ]
    docs.append(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Receiver",
            "metadata": {"name": RECEIVER},
            "spec": {"type": "generic", "secretFile": str(secret_file)},
        }
    )
    for i in range(apps):
        docs.append(
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Application",
                "metadata": {"name": app_name(i)},
                "spec": {
                    "source": {"repoURL": repo_url, "revision": "main", "path": app_path(i)},
                    "destination": {"cluster": names[i % len(names)], "namespace": namespace(i)},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "interval": interval,
                        "options": ["CreateNamespace=true"],
                    },
                },
            }
        )
    return yaml.safe_dump_all(docs)
