"""Reading gitward's own configuration: every ``*.yaml``/``*.yml``/``*.json`` in a file or folder.

The files are parsed with the same bounded YAML loader as manifests (aliases, depth and size capped),
then handed to ``model.load_objects``, which validates each object on its own so one bad Application
is reported while the others run (docs/reliability.md, bad input 17).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gitward.core.errors import ValidationError
from gitward.model import LoadedConfig, ObjectError, load_objects, secretrefs
from gitward.render import DEFAULT_SETTINGS, RenderSettings
from gitward.render.yamlload import load_json_document, load_yaml_documents

_SUFFIXES = (".yaml", ".yml", ".json")


def config_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValidationError(f"config path {path} does not exist")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)


def _documents(file: Path, settings: RenderSettings) -> list[Any]:
    if file.stat().st_size > settings.max_file_bytes:
        raise ValidationError(f"{file}: larger than {settings.max_file_bytes} bytes")
    data = file.read_bytes()
    if file.suffix == ".json":
        return [load_json_document(data, where=str(file), settings=settings)]
    return list(load_yaml_documents(data.decode("utf-8", "replace"), where=str(file), settings=settings))


_APPLICATION_KINDS = ("Application", "Kustomization")


def declaring_file(path: Path, name: str, *, settings: RenderSettings = DEFAULT_SETTINGS) -> Path | None:
    """The config file that declares an application (or Flux Kustomization) named ``name``."""
    for file in config_files(path):
        try:
            documents = _documents(file, settings)
        except Exception:  # a file that does not parse declares nothing that loaded
            documents = []
        for document in documents:
            if not isinstance(document, dict) or document.get("kind") not in _APPLICATION_KINDS:
                continue
            metadata = document.get("metadata")
            if isinstance(metadata, dict) and metadata.get("name") == name:
                return file
    return None


def load_config(path: Path, *, settings: RenderSettings = DEFAULT_SETTINGS) -> LoadedConfig:
    """All objects of the config; a file that cannot be parsed becomes one error, others still load."""
    documents: list[Any] = []
    file_errors: list[ObjectError] = []
    for file in config_files(path):
        try:
            documents.extend(_documents(file, settings))
        except Exception as exc:
            file_errors.append(ObjectError("", file.name, str(exc), -1))
    loaded = secretrefs.in_files(load_objects(documents))
    if not file_errors:
        return loaded
    return dataclasses.replace(loaded, errors=tuple(file_errors) + loaded.errors)
