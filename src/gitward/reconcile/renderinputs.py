"""What the render gets besides the files: Jsonnet and plugin options, build variables, chart fetches.

``render_params`` (in ``desired``) maps the plain parts of an app's source; this module maps the
parts that need more than the app: a plugin needs the config's ``Plugin`` objects, the build
variables need the commit for some renders, and a chart's dependencies are fetched through the
fetcher's Helm repository client with the Repository objects' credentials.

Build variables (``core/buildenv.py``) go into the render parameters, and so into the render cache
key, only when the render reads them: always for a plugin (its commands may read any of them), for
a Jsonnet app only when its values name one. The commit is added where it is read (every plugin, a
Jsonnet value naming it), so other apps keep sharing one render across commits that did not touch
their files.

Chart dependencies (``DependencyCharts``): a dependency's repository must be covered by a
Repository object (its ``url`` a prefix of the dependency's), whose credentials are used, and be
allowed by the app's Project ``sourceRepos``; the chart is fetched by ``sources.fetch_chart`` (HTTP
index or OCI registry, size caps, digest check) into the chart cache. Credentials never reach Helm's
command line, environment or the render's messages.

Deliberately not here: running the render (``render``), fetching the app's own source (``desired``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.core.buildenv import names_revision, references
from gitward.core.errors import RenderError
from gitward.core.redact import redact_url
from gitward.model import Application, Plugin, Project
from gitward.model.jsonnet import JsonnetVariable as JsonnetValue
from gitward.model.repository import Repository, credentials_for
from gitward.policy.globs import repo_allowed
from gitward.render import (
    JsonnetParams,
    JsonnetVariable,
    PluginDefinition,
    PluginParameter,
    PluginParams,
)
from gitward.sources import GitCredentials, fetch_chart


def jsonnet_params(app: Application) -> JsonnetParams:
    directory = app.spec.source.directory
    if directory is None or directory.jsonnet is None:
        return JsonnetParams()
    jsonnet = directory.jsonnet

    def variables(entries: Sequence[JsonnetValue]) -> tuple[JsonnetVariable, ...]:
        return tuple(JsonnetVariable(name=e.name, value=e.value, code=e.code) for e in entries)

    return JsonnetParams(
        libs=tuple(jsonnet.libs), ext_vars=variables(jsonnet.ext_vars), tlas=variables(jsonnet.tlas)
    )


def plugin_definition(plugin: Plugin) -> PluginDefinition:
    spec = plugin.spec
    return PluginDefinition(
        name=plugin.name,
        generate=spec.generate.argv,
        init=spec.init.argv if spec.init is not None else (),
        discover=spec.discover.file_name if spec.discover is not None else None,
        timeout=spec.timeout,
    )


def plugin_params(app: Application, plugins: Sequence[Plugin]) -> PluginParams | None:
    """The app's plugin choice with the plugins it may use: the named one (refused when the config
    has none by that name), else every plugin with a discover rule (the render picks)."""
    chosen = app.spec.source.plugin
    if chosen is None:
        return None
    if chosen.name is not None:
        named = [p for p in plugins if p.name == chosen.name]
        if not named:
            raise RenderError(f"plugin {chosen.name!r} is not defined in the config", reason="PluginNotFound")
        candidates = tuple(plugin_definition(p) for p in named)
    else:
        candidates = tuple(plugin_definition(p) for p in plugins if p.spec.discover is not None)
    return PluginParams(
        name=chosen.name,
        candidates=candidates,
        env=tuple((e.name, e.value) for e in chosen.env),
        parameters=tuple(
            PluginParameter(
                name=p.name, string=p.string, array=p.array, map=dict(p.map) if p.map is not None else None
            )
            for p in chosen.parameters
        ),
    )


def _values_read(app: Application) -> list[str]:
    directory = app.spec.source.directory
    if directory is None or directory.jsonnet is None:
        return []
    return list(directory.jsonnet.values)


def reads_build_variables(app: Application) -> bool:
    """Whether the render reads the build variables: a plugin, or a Jsonnet value naming one."""
    return app.spec.source.plugin is not None or any(references(v) for v in _values_read(app))


def reads_revision(app: Application) -> bool:
    """Whether the render reads the commit: every plugin may, and a Jsonnet value naming it does."""
    return app.spec.source.plugin is not None or any(names_revision(v) for v in _values_read(app))


def build_environment(app: Application, *, commit: str = "") -> dict[str, str]:
    """The app's build variables (the cluster's are added by the render); the commit's only when
    given and read (``reads_revision``); nothing when the render reads none."""
    if not reads_build_variables(app):
        return {}
    source = app.spec.source
    env = {
        "ARGOCD_APP_NAME": app.name,
        "ARGOCD_APP_NAMESPACE": app.spec.destination.namespace,
        "ARGOCD_APP_PROJECT_NAME": app.spec.project,
        "ARGOCD_APP_SOURCE_PATH": source.path,
        "ARGOCD_APP_SOURCE_REPO_URL": source.repo_url,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.revision,
    }
    if commit and reads_revision(app):
        env |= {
            "ARGOCD_APP_REVISION": commit,
            "ARGOCD_APP_REVISION_SHORT": commit[:7],
            "ARGOCD_APP_REVISION_SHORT_8": commit[:8],
        }
    return env


@dataclass(frozen=True)
class DependencyCharts:
    """The ``ChartSource`` of one app's render: dependencies from repositories a Repository object
    covers and the app's Project permits, with that Repository's credentials."""

    repositories: tuple[Repository, ...]
    project: Project | None
    credentials: Callable[[str], Awaitable[GitCredentials | None]]
    dest: Path

    async def fetch(self, *, repository: str, name: str, version: str) -> Path:
        if credentials_for(self.repositories, repository) is None:
            raise RenderError(
                f"no Repository object covers {redact_url(repository)}; add one whose url is a prefix "
                "of it (credentials optional) to let gitward fetch charts from it",
                reason="ChartRepositoryNotAllowed",
            )
        if self.project is not None and not repo_allowed(self.project.spec.source_repos, repository):
            raise RenderError(
                f"source repository {redact_url(repository)} is not permitted in project "
                f"{self.project.name!r}",
                reason="ChartRepositoryNotAllowed",
            )
        credentials = await self.credentials(repository)
        return await fetch_chart(repository, name, version, dest=self.dest, credentials=credentials)
