"""A folder of files gitward does not render, through the real engine: the app says so.

An app pointed at a Jsonnet folder used to report "render produced no objects"; it must name the
language and the files instead, while an app next to it in the same repository syncs as usual.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration

JSONNET = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-jsonnet' } }\n"


async def test_a_jsonnet_folder_reports_that_gitward_does_not_render_jsonnet(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    suffix = uuid4().hex[:6]
    jsonnet_app, plain_app = f"jsonnet-{suffix}", f"plain-{suffix}"
    git_server.create_repo(
        "apps",
        {
            "apps/x/main.jsonnet": JSONNET,
            "apps/x/README.md": "rendered with jsonnet\n",
            "apps/y/cm.yaml": configmap(f"{plain_app}-cm", {"k": "v"}),
        },
    )
    url = git_server.url("apps")
    harness.configure(
        application(jsonnet_app, repo=url, path="apps/x", namespace=namespace),
        application(plain_app, repo=url, path="apps/y", namespace=namespace),
    )
    await harness.start()
    expected = "folder apps/x holds only Jsonnet files (main.jsonnet); gitward does not render Jsonnet"

    await harness.until(lambda: expected in str(harness.app(jsonnet_app)["message"]))
    await harness.until(lambda: harness.is_synced_healthy(plain_app))
    status = harness.app(jsonnet_app)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "UnrenderedLanguage"
    assert (status["reason"], status["step"]) == ("UnrenderedLanguage", "render")
    assert expected in status["statusMessage"]
    assert expected in ready["message"]
    assert "no objects" not in status["message"]
    assert status["resources"] == []
