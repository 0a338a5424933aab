"""Shared by the health rule tests (engine and e2e): custom resource definitions with a status
subresource, custom resources, status patches, and the plugin package laid out as an installer would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

PLUGIN_SOURCE = Path(__file__).parent / "health_plugin" / "acme_widget_health.py"
PLUGIN_GROUP = "plugins.health.example.com"


def crd(group: str, kind: str) -> dict[str, Any]:
    """A namespaced CRD with a status subresource (so a status patch leaves the generation alone)."""
    plural = kind.lower() + "s"
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def install_crds(kube_cluster: Any, *crds: dict[str, Any]) -> None:
    kube_cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(crds))
    for manifest in crds:
        name = manifest["metadata"]["name"]
        kube_cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")


def custom(group: str, kind: str, name: str, **spec: Any) -> str:
    return yaml.safe_dump(
        {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    )


def patch_status(kube_cluster: Any, kind: str, group: str, name: str, namespace: str, status: Any) -> None:
    kube_cluster.kubectl(
        "patch",
        f"{kind.lower()}s.{group}",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


def lay_out_plugin(site: Path) -> Path:
    """The plugin package in ``site`` as an installer lays it out: its module and a ``.dist-info``
    declaring the ``gitward.health`` entry point ``acme``, for importlib.metadata to find."""
    site.mkdir(parents=True)
    shutil.copy(PLUGIN_SOURCE, site / PLUGIN_SOURCE.name)
    info = site / "acme_widget_health-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-widget-health\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[gitward.health]\nacme = acme_widget_health:CHECKS\n")
    return site
