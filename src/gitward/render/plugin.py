"""Render an app with a config-management plugin (``Plugin``, ``model/plugin.py``), jailed.

Which plugin: the one the app names, used only when its ``discover`` glob (if it has one) matches a
file of the app's folder, as in Argo CD; with no name, the one plugin whose glob matches. None
matching, or more than one, refuses the render naming them: gitward never guesses.

How it runs, as Argo CD's sidecars run a plugin: on a copy of the whole checkout (Argo CD sends the
whole repository too), its ``init`` command then its ``generate`` command, both in the app's folder,
with the build variables (``core/buildenv.py``), ``ARGOCD_ENV_<name>`` for each of the app's ``env``
entries (values substituted), ``ARGOCD_APP_PARAMETERS`` and ``PARAM_*`` for its parameters. Unlike a
sidecar, the command runs in the render jail (``jail``): the copy is read-only, HOME is a writable
folder shared by ``init`` and ``generate`` (``init`` prepares files there), ``/tmp`` a small
memory-backed scratch folder of each command, there is no network, and it sees only the system folders and
gitward's own render tools (kustomize, helm, jsonnet in ``/gitward/bin``, first on its PATH, so
``kustomize build --enable-helm`` finds helm). Each command has the plugin's timeout (else the
tools'), after which its process group is killed; output and memory are capped as for every tool.
``generate``'s standard output must be Kubernetes objects in YAML or JSON; its standard error is
shown when it fails.

Deliberately not here: where plugins come from (reconcile maps the config's ``Plugin`` objects), the
program's own behaviour.
"""

from __future__ import annotations

import asyncio
import glob
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitward.core.buildenv import expand
from gitward.core.errors import RenderError
from gitward.render.jail import TOOLS_FOLDER, Confinement
from gitward.render.manifests import collect_manifests
from gitward.render.params import (
    DEFAULT_SETTINGS,
    PluginDefinition,
    PluginParameter,
    PluginParams,
    RenderSettings,
    RenderTools,
)
from gitward.render.runner import run_tool
from gitward.render.sandbox import copy_tree
from gitward.render.tools import find_tool
from gitward.render.yamlload import load_yaml_documents

_UNSAFE = re.compile(r"[^A-Z0-9_]")
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


def discovers(plugin: PluginDefinition, directory: Path) -> bool:
    """Whether ``plugin``'s ``discover`` glob matches a file in ``directory`` (no rule: False)."""
    if plugin.discover is None:
        return False
    pattern = plugin.discover.removeprefix("./")
    return any(Path(directory, found).exists() for found in glob.glob(pattern, root_dir=directory))


def choose_plugin(params: PluginParams, directory: Path, *, shown: str) -> PluginDefinition:
    """The plugin that renders ``directory`` (shown as ``shown``), by name or by discovery."""
    if params.name is not None:
        plugin = next((p for p in params.candidates if p.name == params.name), None)
        if plugin is None:
            raise RenderError(f"plugin {params.name!r} is not defined", reason="PluginNotFound")
        if plugin.discover is not None and not discovers(plugin, directory):
            raise RenderError(
                f"plugin {plugin.name!r} does not apply to {shown}: its discover.fileName "
                f"{plugin.discover!r} matches no file there",
                reason="PluginNotDiscovered",
            )
        return plugin
    matching = [p for p in params.candidates if discovers(p, directory)]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        raise RenderError(
            f"no plugin's discover.fileName matches a file in {shown}; name the plugin in "
            "spec.source.plugin.name",
            reason="PluginNotDiscovered",
        )
    names = ", ".join(p.name for p in matching)
    raise RenderError(
        f"plugins {names} all match {shown}; name one in spec.source.plugin.name", reason="PluginAmbiguous"
    )


def _escaped(name: str) -> str:
    return _UNSAFE.sub("_", name.upper())


def parameter_environment(parameters: Sequence[PluginParameter]) -> dict[str, str]:
    """``ARGOCD_APP_PARAMETERS`` (JSON) and ``PARAM_*``, as Argo CD names them."""
    documents: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    for parameter in parameters:
        base = f"PARAM_{_escaped(parameter.name)}"
        document: dict[str, Any] = {"name": parameter.name}
        if parameter.string is not None:
            document["string"] = parameter.string
            env[base] = parameter.string
        if parameter.map is not None:
            document["map"] = dict(parameter.map)
            for key, value in parameter.map.items():
                env[f"{base}_{_escaped(key)}"] = value
        if parameter.array is not None:
            document["array"] = list(parameter.array)
            for index, value in enumerate(parameter.array):
                env[f"{base}_{index}"] = value
        documents.append(document)
    return {"ARGOCD_APP_PARAMETERS": json.dumps(documents, separators=(",", ":")), **env}


def plugin_environment(params: PluginParams, variables: Mapping[str, str]) -> dict[str, str]:
    """Every variable the plugin's commands get besides the runner's minimal environment."""
    env = dict(variables)
    for name, value in params.env:
        env[f"ARGOCD_ENV_{name}"] = expand(value, variables)
    env.update(parameter_environment(params.parameters))
    return env


def render_tools(tools: RenderTools) -> dict[str, Path]:
    """gitward's render tools a plugin may call, by name (only those that exist)."""
    found = {"kustomize": tools.kustomize, "helm": tools.helm, "jsonnet": tools.jsonnet}
    return {name: path for name, path in found.items() if path.is_file()}


def program_path(program: str, *, plugin: str, tools: Mapping[str, Path]) -> str:
    """Where the command's program is: an absolute path as given, one of gitward's render tools,
    else found as gitward finds its tools (``GITWARD_<NAME>``, PATH, next to gitward)."""
    if program.startswith("/"):
        return program
    if program in tools:
        return str(tools[program])
    found = find_tool(program)
    if found is None:
        raise RenderError(
            f"plugin {plugin!r}: program {program!r} not found "
            f"(set GITWARD_{program.upper()} to its path or put it on PATH)",
            reason="RenderToolMissing",
        )
    return str(found)


def _search_path(tools: Mapping[str, Path], *, jailed: bool) -> str:
    if jailed:
        return f"{TOOLS_FOLDER}:{_SAFE_PATH}"
    folders = dict.fromkeys(str(path.parent) for path in tools.values())
    return ":".join([*folders, _SAFE_PATH])


async def render_plugin(
    directory: Path,
    *,
    root: Path,
    params: PluginParams,
    variables: Mapping[str, str],
    tools: RenderTools,
    workdir: Path,
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> list[dict[str, Any]]:
    """The manifests ``generate`` prints for ``directory`` (inside ``root``, both resolved)."""
    own = directory.relative_to(root).as_posix() if directory != root else ""
    shown = f"folder {own}" if own else "the repository's top folder"
    plugin = await asyncio.to_thread(choose_plugin, params, directory, shown=shown)
    repo = workdir / "repo"
    await asyncio.to_thread(copy_tree, root, repo, root=root, settings=settings)
    known = render_tools(tools)
    env = plugin_environment(params, variables)
    env["PATH"] = _search_path(known, jailed=settings.sandbox != "off")
    confinement = Confinement(
        program=tools.jail,
        readable=(repo,),
        home=workdir / "home",
        shared_home=True,
        system=True,
        tools=tuple((path, f"{TOOLS_FOLDER}/{name}") for name, path in known.items()),
        scratch_bytes=settings.max_scratch_bytes,
    )
    time_limit = plugin.timeout or tools.timeout
    commands = (
        [("init", plugin.init), ("generate", plugin.generate)]
        if plugin.init
        else [("generate", plugin.generate)]
    )
    output = b""
    for step, argv in commands:
        program = program_path(argv[0], plugin=plugin.name, tools=known)
        result = await run_tool(
            [program, *argv[1:]],
            name=f"plugin {plugin.name} ({step})",
            home=workdir / "home",
            cwd=repo / own,
            time_limit=time_limit,
            settings=settings,
            scrub={f"{repo}/": "", str(repo): ".", str(workdir): "."},
            confinement=confinement,
            extra_env=env,
        )
        output = result.stdout
    where = f"plugin {plugin.name} (generate)"
    documents = load_yaml_documents(output, where=where, settings=settings)
    flattened: list[Any] = []
    for document in documents:
        flattened.extend(document if isinstance(document, list) else [document])
    return collect_manifests(flattened, where=where)
