"""A directory app that needs more than reading files: Jsonnet to evaluate, or SOPS files to decrypt.

``render`` reads a folder of plain YAML/JSON itself (``plain.render_plain``, no temporary
directory). When the folder holds ``*.jsonnet`` files, or a file read that way turns out to be
encrypted, it comes here: the Jsonnet files are evaluated (``jsonnet``), the encrypted files are
decrypted (``sops``), and every file's manifests are put together in path order, as Argo CD orders
a directory app's files.

Deliberately not here: choosing the files (``plain.selected_files``), the tools themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.jsonnet import evaluate_jsonnet
from gitward.render.params import DirectoryParams, RenderSettings, RenderTools
from gitward.render.plain import is_jsonnet, load_manifest_file
from gitward.render.sandbox import TreeFile, read_capped
from gitward.render.sops import Decryptor, is_encrypted


def _read_all(files: Sequence[TreeFile], settings: RenderSettings) -> list[bytes | None]:
    return [None if is_jsonnet(file) else read_capped(file, settings=settings) for file in files]


async def render_directory(
    files: Sequence[TreeFile],
    *,
    directory: Path,
    root: Path,
    params: DirectoryParams,
    variables: Mapping[str, str],
    tools: RenderTools,
    workdir: Path,
    settings: RenderSettings,
    decryptor: Decryptor,
) -> list[dict[str, Any]]:
    """The manifests of ``files`` (selected in ``directory``, paths resolved), in their order."""
    jsonnet_files = [file for file in files if is_jsonnet(file)]
    evaluated: dict[str, list[dict[str, Any]]] = {}
    if jsonnet_files:
        evaluated = await evaluate_jsonnet(
            jsonnet_files,
            directory=directory,
            root=root,
            params=params.jsonnet,
            variables=variables,
            tools=tools,
            workdir=workdir,
            settings=settings,
        )
    manifests: list[dict[str, Any]] = []
    contents = await asyncio.to_thread(_read_all, files, settings)
    for file, data in zip(files, contents, strict=True):
        if data is None:
            manifests.extend(evaluated[file.relative])
            continue
        if is_encrypted(data):
            data = await decryptor.decrypt(data, shown=file.relative)
        try:
            manifests.extend(await asyncio.to_thread(load_manifest_file, file, settings=settings, data=data))
        except RenderError as err:
            raise decryptor.scrubbed(err) from None
    return manifests
