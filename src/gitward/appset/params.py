"""Parameter sets: what one generator gives for one Application, and how sets combine.

With the default syntax a parameter set is flat (``{"path.basename": "web"}``) and every value is a
string; with ``goTemplate: true`` it is nested data (``{"path": {"basename": "web"}}``). The helpers
here build the path parameters of the Git generators in both shapes, flatten a file's content as
Argo CD does (``a.b.c``, list items as ``a.0``, values printed as Go prints them), and combine sets
for matrix (both generators' parameters; with the default syntax a parameter given twice with two
values is an error, with Go templates the first generator's value wins) and merge (later
generators override the base's parameters for the sets whose merge keys match).

Messages never repeat a parameter's value: it may come from any file in Git.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from gitward.templating.goformat import format_value
from gitward.templating.gofuncs import normalize

ParamSet = dict[str, Any]


class GeneratorError(Exception):
    """A generator that cannot give its parameters: what is wrong, never a parameter's value."""


def flatten(value: Mapping[str, Any]) -> dict[str, str]:
    """``{"a": {"b": 1}, "l": [x]}`` -> ``{"a.b": "1", "l.0": "x"}``; empty maps and lists give nothing."""
    out: dict[str, str] = {}

    def walk(prefix: str, item: Any) -> None:
        if isinstance(item, Mapping):
            for key, child in item.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                walk(f"{prefix}.{index}" if prefix else str(index), child)
        else:
            out[prefix] = format_value(item)

    walk("", value)
    return out


def _segments(path: str) -> list[str]:
    return path.split("/")


def directory_params(path: str, *, go: bool, prefix: str) -> ParamSet:
    """The parameters of one directory of the Git directory generator."""
    basename = posixpath.basename(path) or path
    if go:
        described = {
            "path": path,
            "basename": basename,
            "basenameNormalized": normalize(basename),
            "segments": _segments(path),
        }
        return {prefix: {"path": described}} if prefix else {"path": described}
    name = f"{prefix}.path" if prefix else "path"
    out = {name: path, f"{name}.basename": basename, f"{name}.basenameNormalized": normalize(basename)}
    out.update({f"{name}[{i}]": part for i, part in enumerate(_segments(path)) if part})
    return out


def file_params(file: str, *, go: bool, prefix: str) -> ParamSet:
    """The path parameters of one file of the Git files generator (``path`` is its folder)."""
    folder = posixpath.dirname(file) or "."
    basename, filename = posixpath.basename(folder) or folder, posixpath.basename(file)
    if go:
        described = {
            "path": folder,
            "basename": basename,
            "filename": filename,
            "basenameNormalized": normalize(basename),
            "filenameNormalized": normalize(filename),
            "segments": _segments(folder),
        }
        return {prefix: {"path": described}} if prefix else {"path": described}
    name = f"{prefix}.path" if prefix else "path"
    out = {
        name: folder,
        f"{name}.basename": basename,
        f"{name}.filename": filename,
        f"{name}.basenameNormalized": normalize(basename),
        f"{name}.filenameNormalized": normalize(filename),
    }
    out.update({f"{name}[{i}]": part for i, part in enumerate(_segments(folder)) if part})
    return out


def _deep_merge(base: Mapping[str, Any], other: Mapping[str, Any], *, override: bool) -> ParamSet:
    """Maps merged key by key; for any other value ``other`` wins only with ``override``."""
    out = dict(base)
    for key, value in other.items():
        mine = out.get(key)
        if isinstance(mine, Mapping) and isinstance(value, Mapping):
            out[key] = _deep_merge(mine, value, override=override)
        elif key not in out or override:
            out[key] = value
    return out


def matrix_combine(first: ParamSet, second: ParamSet, *, go: bool) -> ParamSet:
    if go:
        return _deep_merge(first, second, override=False)
    for key, value in second.items():
        if key in first and first[key] != value:
            raise GeneratorError(
                f"the matrix's generators both give the parameter {key!r} with different values; "
                "rename one (pathParamPrefix for Git generators)"
            )
    return {**first, **second}


def _merge_key(params: ParamSet, keys: Sequence[str]) -> str:
    return json.dumps([params.get(key) for key in keys], sort_keys=True, default=str)


def merge_sets(
    base: list[ParamSet], others: Sequence[list[ParamSet]], *, keys: Sequence[str], go: bool
) -> list[ParamSet]:
    """The base generator's sets, each overridden by the later generators' set of the same merge keys."""
    out = [dict(p) for p in base]
    for index, sets in enumerate(others, start=2):
        by_key: dict[str, ParamSet] = {}
        for params in sets:
            key = _merge_key(params, keys)
            if key in by_key:
                raise GeneratorError(
                    f"generator {index} of the merge gives two parameter sets with the same merge keys "
                    f"({', '.join(keys)}); each must be unique"
                )
            by_key[key] = params
        for i, params in enumerate(out):
            found = by_key.get(_merge_key(params, keys))
            if found is not None:
                out[i] = _deep_merge(params, found, override=True) if go else {**params, **found}
    return out


def string_values(params: ParamSet) -> dict[str, str]:
    """The parameters a post-selector reads: the top-level string values."""
    return {key: value for key, value in params.items() if isinstance(value, str)}
