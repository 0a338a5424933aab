"""The ``in-cluster`` destination (Argo CD's ``https://kubernetes.default.svc``) without a Cluster object.

``in-cluster`` is reached through ``KUBECONFIG`` when it is set. Otherwise, in a pod, through the
pod's service account: ``in_cluster_kubeconfig`` writes a kubeconfig that names the mounted token
(``tokenFile``, read again when the API server answers 401, so a rotated token is picked up) and the
cluster's CA file, for the address in ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``. The
file holds paths only, never the token. With neither, ``no_in_cluster_message`` is the one error to
show, naming both ways to fix it.

Deliberately not here: deciding which apps use ``in-cluster`` (the caller reads the config).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_kubeconfig(
    environ: Mapping[str, str], *, account_dir: Path = SERVICE_ACCOUNT_DIR
) -> str | None:
    """A kubeconfig (JSON, which is YAML) for the pod's service account; None outside a pod."""
    token = account_dir / "token"
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "443") or "443"
    if not token.is_file() or not host:
        return None
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    cluster: dict[str, object] = {"server": server}
    ca = account_dir / "ca.crt"
    if ca.is_file():
        cluster["certificate-authority"] = str(ca)
    namespace = account_dir / "namespace"
    context: dict[str, object] = {"cluster": "in-cluster", "user": "service-account"}
    if namespace.is_file():
        context["namespace"] = namespace.read_text(encoding="utf-8").strip() or "default"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": cluster}],
        "users": [{"name": "service-account", "user": {"tokenFile": str(token)}}],
        "contexts": [{"name": "in-cluster", "context": context}],
        "current-context": "in-cluster",
    }
    return json.dumps(config, indent=2) + "\n"


def no_in_cluster_message(apps: Sequence[str], *, account_dir: Path = SERVICE_ACCOUNT_DIR) -> str:
    """Why ``in-cluster`` cannot be reached, and both ways to fix it."""
    shown = ", ".join(apps[:5]) + (f" and {len(apps) - 5} more" if len(apps) > 5 else "")
    return (
        f"the cluster 'in-cluster' (https://kubernetes.default.svc), destination of {shown}, cannot be "
        f"reached: KUBECONFIG is not set and there is no service account ({account_dir / 'token'} "
        "is missing). Either set KUBECONFIG to a kubeconfig file for that cluster, or run gitward in a "
        "pod with a service account; a Cluster object named 'in-cluster' also overrides it"
    )
