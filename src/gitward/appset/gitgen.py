"""The Git generators: one parameter set per matching directory, or per object in matching files.

Directories (Argo CD's Git directory generator): every directory of the commit (none below a folder
whose name starts with ``.``) that matches an included ``path`` and no ``exclude: true`` one, in
Go's ``path.Match`` syntax; exclusions win whatever their order. Files: every file matching an
included pattern (``**`` spans directories) and no excluded one; each must hold a mapping (one set)
or a list of mappings (one set each; an empty file is one empty mapping). With the default syntax
a file's content is flattened (``cluster.name``); with Go templates it is kept as it is. Both add
the path parameters of ``params`` (under ``pathParamPrefix`` when given) and ``values``.

Deliberately not here: reading the repository (``inputs.Repositories``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.appset.inputs import Repositories, RepoTree
from gitward.appset.matching import PatternError, glob_match, path_match
from gitward.appset.params import GeneratorError, ParamSet, directory_params, file_params, flatten
from gitward.model.appsetgen import GitGenerator, GitPath
from gitward.model.source import check_repo_url
from gitward.templating import Renderer

MAX_FILE_SETS = 10_000  # parameter sets one file may give


def git_params(
    generator: GitGenerator, repositories: Repositories, renderer: Renderer, *, go: bool, previous: ParamSet
) -> list[ParamSet]:
    try:
        check_repo_url(generator.repo_url)
    except ValueError as exc:
        raise GeneratorError(str(exc)) from None
    tree = repositories.tree(generator.repo_url, generator.revision)
    try:
        if generator.directories:
            sets = _directories(generator, tree, go=go)
        else:
            sets = _files(generator, tree, go=go)
    except PatternError as exc:
        raise GeneratorError(str(exc)) from None
    return [_with_values(p, generator, renderer, go=go, previous=previous) for p in sets]


def _split(paths: tuple[GitPath, ...]) -> tuple[list[str], list[str]]:
    return [p.path for p in paths if not p.exclude], [p.path for p in paths if p.exclude]


def _directories(generator: GitGenerator, tree: RepoTree, *, go: bool) -> list[ParamSet]:
    included, excluded = _split(generator.directories)
    found = [
        directory
        for directory in sorted(tree.directories)
        if any(path_match(p, directory) for p in included)
        and not any(path_match(p, directory) for p in excluded)
    ]
    return [directory_params(d, go=go, prefix=generator.path_param_prefix) for d in found]


def _files(generator: GitGenerator, tree: RepoTree, *, go: bool) -> list[ParamSet]:
    included, excluded = _split(generator.files)
    found = [
        file
        for file in sorted(tree.files)
        if any(glob_match(p, file) for p in included) and not any(glob_match(p, file) for p in excluded)
    ]
    out: list[ParamSet] = []
    for file in found:
        path_params = file_params(file, go=go, prefix=generator.path_param_prefix)
        for content in _objects(tree.document(file), file):
            params = dict(content) if go else dict(flatten(content))
            out.append({**params, **path_params})
    return out


def _objects(document: Any, file: str) -> list[Mapping[str, Any]]:
    if document is None:
        return [{}]
    if isinstance(document, Mapping):
        return [document]
    if isinstance(document, list) and all(isinstance(item, Mapping) for item in document):
        if len(document) > MAX_FILE_SETS:
            raise GeneratorError(f"{file} gives more than {MAX_FILE_SETS} parameter sets")
        return list(document)
    raise GeneratorError(f"{file} must hold a mapping or a list of mappings")


def _with_values(
    params: ParamSet, generator: GitGenerator, renderer: Renderer, *, go: bool, previous: ParamSet
) -> ParamSet:
    if not generator.values:
        return params
    context = {**previous, **params}
    rendered = {key: renderer.render(text, context) for key, text in generator.values.items()}
    if go:
        return {**params, "values": rendered}
    return {**params, **{f"values.{key}": value for key, value in rendered.items()}}
