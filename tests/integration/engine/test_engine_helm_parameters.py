"""Helm parameters through the real helm: typed as ``--set`` types them, kept strings with
``forceString``, list indices in names (the parsing: ``unit/model/test_model_sync_options.py``)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application

pytestmark = pytest.mark.integration

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: params\nversion: 0.1.0\n",
    "chart/values.yaml": "port: 80\nlabel: x\nhosts: [{name: a}, {name: b}]\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-params\n"
        "data:\n"
        "  port: {{ .Values.port | quote }}\n"
        "  portKind: {{ kindOf .Values.port | quote }}\n"
        "  labelKind: {{ kindOf .Values.label | quote }}\n"
        "  enabledKind: {{ kindOf .Values.enabled | quote }}\n"
        "  host: {{ (index .Values.hosts 1).name | quote }}\n"
    ),
}


async def test_parameters_are_typed_force_string_kept_and_list_indices_set(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"params-{uuid4().hex[:6]}"
    git_server.create_repo(name, CHART)
    parameters = [
        {"name": "port", "value": "8080"},
        {"name": "label", "value": "123", "forceString": True},
        {"name": "enabled", "value": "true"},
        {"name": "hosts[1].name", "value": "c.example.com"},
    ]
    helm = {"releaseName": "rel", "parameters": parameters}
    app = application(
        name, repo=git_server.url(name), path="chart", namespace=namespace, source={"helm": helm}
    )
    harness.configure(app)
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))

    data = kube_cluster.get_json("configmap", "rel-params", "-n", namespace)["data"]
    assert data["port"] == "8080"
    assert data["portKind"] != "string"  # a number, as helm --set makes it
    assert data["labelKind"] == "string"  # forceString: "123" stays a string
    assert data["enabledKind"] == "bool"
    assert data["host"] == "c.example.com"
