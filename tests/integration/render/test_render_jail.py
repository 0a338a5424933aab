"""The jail around kustomize and helm, with the closure checks bypassed: what holds when they miss.

``build_kustomization`` runs kustomize on a tree the test writes by hand, so nothing is checked
before the tool starts. Each escape is also run with ``sandbox="off"`` to show that it does work
without the jail, so the jailed assertion is about the jail and not about kustomize.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderSettings, RenderTools, render
from gitward.render.jail import Confinement
from gitward.render.kustomize import build_kustomization
from gitward.render.runner import run_tool

JAILED = RenderSettings()
UNJAILED = RenderSettings(sandbox="off")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"


@dataclass
class Server:
    """A loopback HTTP server that counts the connections it accepts and serves one ConfigMap."""

    url: str = ""
    connections: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    seen = Server()
    body = (CONFIGMAP % "from-network").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Counting(http.server.ThreadingHTTPServer):
        def verify_request(self, request: Any, client_address: Any) -> bool:
            seen.connections.append(str(client_address))
            return True

    httpd = Counting(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def system_folders() -> list[str]:
    """The host's system folders the jail reproduces for a program that is not static."""
    names = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr")
    return [name for name in names if os.path.lexists(f"/{name}")]


def workdir_with(tmp_path: Path, kustomization: str) -> Path:
    """A render's temporary directory laid out by hand: ``tree/app`` holds ``kustomization``."""
    workdir = tmp_path / "work"
    (workdir / "home").mkdir(parents=True)
    write(workdir / "tree" / "app" / "kustomization.yaml", kustomization)
    return workdir


async def build(workdir: Path, tools: RenderTools, settings: RenderSettings) -> list[str]:
    manifests = await build_kustomization(
        workdir / "tree" / "app",
        tree=workdir / "tree",
        workdir=workdir,
        tools=tools,
        settings=settings,
        shown="app",
    )
    return [manifest["metadata"]["name"] for manifest in manifests]


async def test_kustomize_in_the_jail_cannot_read_outside_the_copy(tmp_path: Path, tools: RenderTools) -> None:
    outside = tmp_path / "outside"
    write(outside / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(outside / "cm.yaml", CONFIGMAP % "stolen")
    workdir = workdir_with(tmp_path, "")
    escape = relative(outside, workdir / "tree" / "app")
    write(workdir / "tree" / "app" / "kustomization.yaml", f"resources: [{escape}]\n")
    assert await build(workdir, tools, UNJAILED) == ["stolen"]  # kustomize alone lets it out
    with pytest.raises(RenderError, match="kustomize failed") as refused:
        await build(workdir, tools, JAILED)
    assert "stolen" not in str(refused.value)


async def test_kustomize_in_the_jail_cannot_reach_the_network(
    tmp_path: Path, tools: RenderTools, server: Server
) -> None:
    workdir = workdir_with(tmp_path, f"resources: [{server.url}/cm.yaml]\n")
    assert await build(workdir, tools, UNJAILED) == ["from-network"]  # kustomize alone downloads it
    assert len(server.connections) == 1
    with pytest.raises(RenderError, match="kustomize failed"):
        await build(workdir, tools, JAILED)
    assert len(server.connections) == 1  # the jailed run never connected


async def test_any_program_in_the_jail_sees_no_file_and_no_network(
    tmp_path: Path, tools: RenderTools, server: Server
) -> None:
    """A shell (dynamically linked, so it also gets the system folders) tries what a tool might."""
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    workdir = workdir_with(tmp_path, "")
    port = server.url.rsplit(":", 1)[1]
    script = (
        f"for f in {secret} /etc/passwd {Path.home()}/.bashrc; do "
        'cat "$f" >/dev/null 2>&1 && echo "READ $f"; done; '
        f"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo CONNECTED; "
        "echo ROOT $(ls /)"
    )

    async def probe(confinement: Confinement | None) -> str:
        output = await run_tool(
            ["/bin/bash", "-c", script],
            name="probe",
            home=workdir / "home",
            cwd=workdir,
            time_limit=30,
            confinement=confinement,
        )
        return output.stdout.decode()

    jailed = await probe(Confinement(program=tools.jail, readable=(workdir,), home=workdir / "home"))
    assert "READ" not in jailed
    assert "CONNECTED" not in jailed
    [listing] = [line.split()[1:] for line in jailed.splitlines() if line.startswith("ROOT")]
    # no etc, home, root, var, nor the folder of the secret: only what the jail put there
    assert sorted(listing) == sorted({"dev", "tmp", workdir.parts[1], *system_folders()})
    assert server.connections == []
    unjailed = await probe(None)
    assert "CONNECTED" in unjailed  # the probe does both when not jailed
    assert f"READ {secret}" in unjailed


async def test_remote_content_allowed_by_settings_is_fetched_through_the_shared_network(
    tmp_path: Path, tools: RenderTools, server: Server
) -> None:
    repo = tmp_path / "repo"
    write(repo / "app" / "kustomization.yaml", f"resources: [{server.url}/cm.yaml]\n")
    settings = RenderSettings(allow_remote_bases=True)
    result = await render(
        repo / "app",
        root=repo,
        params=RenderParams(),
        tools=tools,
        kube_version="",
        api_versions=(),
        settings=settings,
    )
    assert [manifest["metadata"]["name"] for manifest in result.manifests] == ["from-network"]
    assert len(server.connections) == 1


def kustomize_app(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / "app" / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(repo / "app" / "cm.yaml", CONFIGMAP % "web")
    return repo


async def render_app(repo: Path, tools: RenderTools, settings: RenderSettings = JAILED) -> list[str]:
    result = await render(
        repo / "app",
        root=repo,
        params=RenderParams(),
        tools=tools,
        kube_version="",
        api_versions=(),
        settings=settings,
    )
    return [manifest["metadata"]["name"] for manifest in result.manifests]


def fake_bwrap(tmp_path: Path, message: str) -> Path:
    script = tmp_path / "bwrap"
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize(
    ("jail", "cause"),
    [
        (lambda tmp: tmp / "missing" / "bwrap", r"bubblewrap \(bwrap\) not found at .*/missing/bwrap"),
        (
            lambda tmp: fake_bwrap(tmp, "bwrap: setting up uid map: Permission denied"),
            "setting up uid map: Permission denied",
        ),
    ],
    ids=["bwrap-missing", "namespaces-refused"],
)
async def test_a_jail_that_cannot_be_made_refuses_the_render_and_names_the_opt_out(
    tmp_path: Path, tools: RenderTools, jail: Any, cause: str
) -> None:
    repo = kustomize_app(tmp_path)
    broken = RenderTools(kustomize=tools.kustomize, helm=tools.helm, jail=jail(tmp_path))
    with pytest.raises(
        RenderError, match=rf"^kustomize cannot run sandboxed: {cause}; .*sandbox='off'"
    ) as refused:
        await render_app(repo, broken)
    assert refused.value.reason == "SandboxUnavailable"
    assert "\n" not in str(refused.value)
    assert await render_app(repo, broken, UNJAILED) == ["web"]  # the explicit opt-out runs it unjailed


async def test_a_hanging_tool_in_the_jail_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    token = f"300.{secrets.randbelow(10**6):06d}"
    script = tmp_path / "hang.sh"
    script.write_text(f"#!/bin/sh\nsleep {token} &\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    repo = kustomize_app(tmp_path)
    tools = RenderTools(kustomize=script, helm=script, timeout=1.0)
    with pytest.raises(RenderError, match=r"kustomize timed out after 1s and was killed") as caught:
        await render_app(repo, tools)
    assert caught.value.reason == "RenderTimeout"
    for _ in range(200):
        if not sleeping(token):
            break
        await asyncio.sleep(0.05)
    assert not sleeping(token)


def sleeping(token: str) -> bool:
    """Whether a live (not zombie) ``sleep TOKEN`` process exists anywhere on the machine."""
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "cmdline").read_bytes() == f"sleep\0{token}\0".encode():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):
                    return True
        except OSError:
            continue
    return False


CHART_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: probe}
data:
  inside: {{ .Files.Get "inside.txt" | quote }}
  parent: {{ .Files.Get "../outside.txt" | quote }}
  climbing: {{ .Files.Get "../../../../outside.txt" | quote }}
  absolute: {{ .Files.Get "OUTSIDE" | quote }}
  globbed: {{ .Files.Glob "../**" | len | quote }}
  lookup: {{ lookup "v1" "Namespace" "" "" | toJson | quote }}
  lookupOne: {{ lookup "v1" "Secret" "kube-system" "any" | toJson | quote }}
"""


async def test_helm_templates_see_the_chart_alone_and_no_cluster(tmp_path: Path, tools: RenderTools) -> None:
    repo = tmp_path / "repo"
    chart = repo / "chart"
    outside = tmp_path / "outside.txt"
    outside.write_text("stolen")
    write(repo / "outside.txt", "repo-but-not-chart")
    write(chart / "Chart.yaml", "apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    write(chart / "inside.txt", "mine")
    write(chart / "templates" / "cm.yaml", CHART_TEMPLATE.replace("OUTSIDE", str(outside)))
    result = await render(
        chart, root=repo, params=RenderParams(), tools=tools, kube_version="v1.36.3", api_versions=()
    )
    [configmap] = result.manifests
    assert configmap["data"] == {
        "inside": "mine",
        "parent": "",
        "climbing": "",
        "absolute": "",
        "globbed": "0",
        "lookup": "{}",
        "lookupOne": "{}",
    }
