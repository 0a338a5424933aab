"""The render tests' tools: the pinned kustomize, helm and jsonnet the suite builds."""

from __future__ import annotations

import pytest
from devtools.toolchain import tool_path

from gitward.render import RenderTools


@pytest.fixture(scope="module")
def tools() -> RenderTools:
    return RenderTools(
        kustomize=tool_path("kustomize"), helm=tool_path("helm"), jsonnet=tool_path("jsonnet"), timeout=60
    )
