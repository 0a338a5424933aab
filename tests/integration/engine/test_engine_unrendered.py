"""A folder of files gitward does not render, through the real engine: the app says so.

An app pointed at a CUE folder must name the language and the files instead of reporting "render
produced no objects", while an app next to it in the same repository syncs as usual. (Jsonnet
folders render: test_engine_render_extensions.py.)
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration

CUE = 'package app\n\nconfig: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "from-cue"}\n'


async def test_a_cue_folder_reports_that_gitward_does_not_render_cue(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    suffix = uuid4().hex[:6]
    cue_app, plain_app = f"cue-{suffix}", f"plain-{suffix}"
    git_server.create_repo(
        "apps",
        {
            "apps/x/main.cue": CUE,
            "apps/x/README.md": "rendered with cue\n",
            "apps/y/cm.yaml": configmap(f"{plain_app}-cm", {"k": "v"}),
        },
    )
    url = git_server.url("apps")
    harness.configure(
        application(cue_app, repo=url, path="apps/x", namespace=namespace),
        application(plain_app, repo=url, path="apps/y", namespace=namespace),
    )
    await harness.start()
    expected = "folder apps/x holds only CUE files (main.cue); gitward does not render CUE"

    await harness.until(lambda: expected in str(harness.app(cue_app)["message"]))
    await harness.until(lambda: harness.is_synced_healthy(plain_app))
    status = harness.app(cue_app)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "UnrenderedLanguage"
    assert (status["reason"], status["step"]) == ("UnrenderedLanguage", "render")
    assert expected in status["statusMessage"]
    assert expected in ready["message"]
    assert "no objects" not in status["message"]
    assert status["resources"] == []
