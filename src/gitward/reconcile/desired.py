"""What an app wants: fetch its source, render it, split child apps from cluster objects.

This is the "fetch" and "render" half of the pipeline (docs/architecture.md, one reconcile). It never talks
to a cluster except to ask the target's version and API groups for Helm. Every failure here happens before
anything is applied, so the caller keeps the last good state. Between fetch and render, the commit's signature
is checked when the app's project, repository or source asks for it (``trust``), and the render is
given the app's SOPS keys (docs/reliability.md, bad input 13 and 14).
Deliberately not here: validation against a project and anything that writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.core.errors import FetchError, GitwardError, RenderError, Stalled
from gitward.core.steps import Step
from gitward.model import Application, Plugin, Project, is_argocd_application, is_gitward_application
from gitward.model.helmparams import with_parameters
from gitward.model.repository import Repository, credentials_for
from gitward.reconcile import metrics, several
from gitward.reconcile.renderinputs import DependencyCharts, build_environment, jsonnet_params, plugin_params
from gitward.reconcile.secrets import ClusterSecrets
from gitward.reconcile.trust import TrustKeys, check_signatures
from gitward.reconcile.valuesfrom import helm_values
from gitward.render import (
    DirectoryParams,
    HelmParams,
    KustomizeParams,
    RenderCache,
    RenderParams,
    RenderResult,
    RenderSettings,
    RenderTools,
    render_cached,
    render_inputs,
)
from gitward.sources import (
    Artifact,
    FetchResult,
    GitCache,
    GitCredentials,
    fetch_bucket,
    fetch_chart,
    fetch_oci_artifact,
)
from gitward.sources.signatures import SignatureVerifier

_INPUTS = "inputs:"  # prefix of an input key that covers paths outside the app's folder


def _is_child_app(manifest: Mapping[str, Any]) -> bool:
    """An Application in a render is a child app (app of apps), gitward's own kind or Argo CD's."""
    return is_gitward_application(manifest) or is_argocd_application(manifest)


@dataclass(frozen=True)
class Desired:
    """The rendered state of one app at one commit."""

    revision: str
    commit: str
    tree: str
    digest: str
    objects: tuple[dict[str, Any], ...]
    children: tuple[dict[str, Any], ...]
    engine: str


def render_params(app: Application, plugins: tuple[Plugin, ...] = (), *, commit: str = "") -> RenderParams:
    """Map the user's source spec onto render parameters; ``plugins`` are the config's (for an app
    with ``plugin``), ``commit`` the revision a render that reads it sees (``renderinputs``)."""
    source = app.spec.source
    destination_ns = app.spec.destination.namespace or None
    helm = HelmParams()
    if source.helm is not None:
        values = with_parameters(dict(source.helm.values), source.helm.parameters)
        helm = HelmParams(
            release_name=source.helm.release_name or app.name,
            namespace=source.helm.namespace or destination_ns,
            values=values,
            value_files=tuple(source.helm.value_files),
        )
    else:
        helm = HelmParams(release_name=app.name, namespace=destination_ns)
    kustomize = KustomizeParams()
    if source.kustomize is not None:
        k = source.kustomize
        kustomize = KustomizeParams(
            images=tuple(k.images),
            name_prefix=k.name_prefix,
            name_suffix=k.name_suffix,
            namespace=k.namespace,
            common_labels=dict(k.common_labels),
        )
    directory = DirectoryParams()
    if source.directory is not None:
        d = source.directory
        directory = DirectoryParams(
            recurse=d.recurse, include=tuple(d.include), exclude=tuple(d.exclude), jsonnet=jsonnet_params(app)
        )
    engine = "helm" if source.chart else source.render_hint
    return RenderParams(
        engine=engine,
        helm=helm,
        kustomize=kustomize,
        directory=directory,
        substitute=dict(source.substitute),
        plugin=plugin_params(app, plugins),
        build_env=build_environment(app, commit=commit),
    )


def read_credentials(repository: Repository | None) -> GitCredentials | None:
    """Credentials from the files a Repository names; read at use so rotated secrets take effect."""
    if repository is None:
        return None
    spec = repository.spec

    def read(path: str | None) -> str | None:
        return Path(path).read_text().strip() if path else None

    try:
        return GitCredentials(
            username=spec.username,
            password=read(spec.password_file),
            bearer_token=read(spec.bearer_token_file),
            ssh_private_key=Path(spec.ssh_private_key_file) if spec.ssh_private_key_file else None,
            known_hosts=Path(spec.known_hosts_file) if spec.known_hosts_file else None,
        )
    except OSError as exc:
        raise FetchError(
            f"credentials of repository {repository.name!r} unreadable: {exc.strerror}"
        ) from None


class SourceFetcher:
    """Fetches and renders for every app; one fetch per repository per freshness window."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        tools: RenderTools,
        render_settings: RenderSettings,
        render_cache_entries: int,
        fetch_freshness: float,
        fetch_timeout: float = 120.0,
        fetch_min_interval: float = 1.0,
    ) -> None:
        # Fetches of one repository start at least ``fetch_min_interval`` apart: a flood of pushes
        # or webhooks costs about one fetch per interval, and nothing is lost (docs/reliability.md F8).
        self.git = GitCache(cache_dir / "git", timeout=fetch_timeout, min_interval=fetch_min_interval)
        self.git.on_fetch = metrics.record_git_fetch
        self.charts_dir = cache_dir / "charts"
        self.tools = tools
        self.render_settings = render_settings
        self.render_cache = RenderCache(max_entries=render_cache_entries)
        self.fetch_freshness = fetch_freshness
        self.repositories: tuple[Repository, ...] = ()
        self.plugins: tuple[Plugin, ...] = ()  # the config's config-management plugins
        self.secrets: ClusterSecrets | None = None  # run --from-cluster: Secrets named by secretRef
        # the registry's project lookup, for the signature rules of an app's project (``trust``)
        self.project_of: Callable[[str], Project | None] = lambda _name: None
        self.trust = TrustKeys()
        self.signatures = SignatureVerifier(cache_dir / "trust")
        self._fetched_at: dict[str, float] = {}
        # the fetch each repository has under way (with when it was asked for), for ``join_running``
        self._running: dict[tuple[str, GitCredentials | None], tuple[float, asyncio.Task[FetchResult]]] = {}
        self._input_keys: dict[tuple[str, str, str, str, bool], tuple[str, str | None]] = {}
        self.renders = 0

    async def credentials(self, url: str) -> GitCredentials | None:
        """The credentials of the Repository serving ``url``: from its files, or its Secret (read now)."""
        repository = credentials_for(self.repositories, url)
        if repository is not None and repository.spec.secret_ref is not None:
            if self.secrets is None:  # refused at load in a file config; never reached
                raise FetchError(f"repository {repository.name!r}: secretRef needs run --from-cluster")
            return await self.secrets.git_credentials(repository)
        return read_credentials(repository)

    def _needs_fetch(self, url: str, *, fetch: bool, force: bool) -> bool:
        """A reconcile that wants fresh sources shares a fetch younger than ``fetch_freshness`` with
        every other app of the repository; one woken by a watch event reads the mirror as it is; a
        user's refresh or sync always fetches."""
        last = self._fetched_at.get(url)
        if last is None or force:
            return True
        return fetch and time.monotonic() - last > self.fetch_freshness

    def fetched_within(self, url: str, seconds: float) -> bool:
        """Whether ``url`` was fetched successfully in the last ``seconds``."""
        last = self._fetched_at.get(url)
        return last is not None and time.monotonic() - last <= seconds

    def fetch_times(self) -> Mapping[str, float]:
        """Repository URL -> monotonic time of its last successful fetch."""
        return self._fetched_at

    async def artifact(
        self,
        app: Application,
        revision: str,
        *,
        fetch: bool,
        force_fetch: bool = False,
        folder_only: bool = False,
    ) -> Artifact:
        """The app's input at ``revision``; ``folder_only``: a Git checkout may hold only the app's
        folder (``GitCache.checkout``), which ``folder_checkout`` then confirms or widens."""
        source = app.spec.source
        credentials = await self.credentials(source.repo_url)
        if source.chart:
            return await self._chart_artifact(app, revision, credentials)
        if source.is_bucket:
            return await self._bucket_artifact(app, revision, credentials)
        if source.is_oci_artifact:
            return await fetch_oci_artifact(
                source.repo_url, revision, source.path, dest=self.charts_dir, credentials=credentials
            )
        do_fetch = self._needs_fetch(source.repo_url, fetch=fetch, force=force_fetch)
        if do_fetch:
            await self.fetch_repository(
                source.repo_url, credentials=credentials, join_running=not force_fetch
            )
        try:
            return await self.git.artifact(
                source.repo_url, revision, source.path, credentials=credentials, fetch=False,
                folder_only=folder_only,
            )  # fmt: skip
        except FetchError as exc:
            if do_fetch or "not been fetched" not in str(exc):
                raise
        await self.fetch_repository(source.repo_url, credentials=credentials, join_running=True)
        return await self.git.artifact(
            source.repo_url, revision, source.path, credentials=credentials, fetch=False,
            folder_only=folder_only,
        )  # fmt: skip

    async def _bucket_artifact(
        self, app: Application, revision: str, credentials: GitCredentials | None
    ) -> Artifact:
        """A bucket is read anonymously as it is now (``sources/bucket.py``)."""
        source = app.spec.source
        if credentials is not None:
            raise FetchError(
                f"a Repository names credentials for {source.repo_url}: gitward reads buckets anonymously "
                "only, so remove them (or make the bucket readable)",
                reason="BucketCredentials",
            )
        if revision not in ("HEAD", "latest"):
            raise FetchError(f"a bucket has no revision {revision!r}: it is read as it is now")
        return await fetch_bucket(source.repo_url, source.path, dest=self.charts_dir)

    async def fetch_repository(
        self,
        url: str,
        *,
        credentials: GitCredentials | None = None,
        unless_held: Mapping[str, str] | None = None,
        join_running: bool = False,
    ) -> FetchResult:
        """Fetch ``url`` now (joining a fetch not yet under way) and mark it fresh for reconciles;
        ``unless_held``: the refs a push said it moved (``GitCache.fetch``).

        ``join_running``: a reconcile that wants sources within the freshness window (not a user's
        refresh, not a push) takes the result of a fetch of ``url`` already under way here when
        that fetch was asked for within the window, the rule a finished fetch is held to
        (``_needs_fetch``); ``GitCache`` would give it the next fetch, started no sooner than its
        minimum interval after the running one (at start, every app of a repository but the first
        waited that interval).

        Metrics count the real fetches (``GitCache.on_fetch``), not the callers that shared one."""
        key = (url, credentials)
        running = self._running.get(key) if join_running else None
        if running is None or time.monotonic() - running[0] > self.fetch_freshness:
            fetch = asyncio.ensure_future(
                self.git.fetch(url, credentials=credentials, unless_held=unless_held)
            )
            running = self._running[key] = (time.monotonic(), fetch)
            fetch.add_done_callback(lambda done: self._fetch_ended(key, done))
        started, fetch = running
        # shield: one caller cancelled must not cancel the fetch others share (``GitCache`` too)
        result = await asyncio.shield(fetch)
        self._fetched_at[url] = started
        return result

    def _fetch_ended(self, key: tuple[str, GitCredentials | None], done: asyncio.Task[FetchResult]) -> None:
        current = self._running.get(key)
        if current is not None and current[1] is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # read here, so a failure every caller left behind is not reported as lost

    async def _chart_artifact(
        self, app: Application, version_spec: str, credentials: GitCredentials | None
    ) -> Artifact:
        source = app.spec.source
        chart = str(source.chart)
        directory = await fetch_chart(
            source.repo_url, chart, version_spec, dest=self.charts_dir, credentials=credentials
        )
        version = directory.name
        return Artifact(
            url=source.repo_url,
            revision=version_spec,
            commit=version,
            path="",
            tree=f"chart:{source.repo_url}:{chart}:{version}",
            root=directory,
        )

    async def desired(
        self,
        app: Application,
        revision: str,
        *,
        fetch: bool,
        force_fetch: bool = False,
        kube_version: str,
        api_versions: list[str],
    ) -> Desired:
        if app.spec.sources:
            combined = await several.desired(
                self, app, revision, fetch=fetch, force_fetch=force_fetch, kube_version=kube_version,
                api_versions=api_versions,
            )  # fmt: skip
            return Desired(**dataclasses.asdict(combined))
        try:
            artifact = await self.artifact(
                app, revision, fetch=fetch, force_fetch=force_fetch, folder_only=True
            )
        except GitwardError as err:
            err.at(Step.FETCH)
            raise
        if not artifact.tree:
            raise RenderError(
                f"path {app.spec.source.path!r} does not exist at {artifact.commit[:12]}",
                reason="PathNotFound",
                step=Step.FETCH,
            )
        try:
            await self.verify(app, revision, artifact)
        except GitwardError as err:
            err.at(Step.VERIFY)
            raise
        try:
            return await self._render_checkout(app, revision, artifact, kube_version, api_versions)
        except GitwardError as err:
            err.at(Step.RENDER)
            raise

    async def _render_checkout(
        self, app: Application, revision: str, artifact: Artifact, kube_version: str, api_versions: list[str]
    ) -> Desired:
        """Render from the app's folder alone when that is all it reads, else from the whole commit."""
        artifact = await self.folder_checkout(app, artifact)
        try:
            return await self.render_artifact(app, revision, artifact, kube_version, api_versions)
        except RenderError:
            if not artifact.partial:
                raise
        # The folder alone did not render (a link or file outside it that the look ahead does not
        # follow): the whole commit decides, and its error is the one reported.
        artifact = await self.git.whole(app.spec.source.repo_url, artifact)
        return await self.render_artifact(app, revision, artifact, kube_version, api_versions)

    async def folder_checkout(self, app: Application, artifact: Artifact) -> Artifact:
        """``artifact`` if its checkout of the app's folder alone is all the render reads, else the
        same artifact with the whole commit checked out.

        The folder alone is enough when ``input_key`` finds it reads nothing outside it (a path
        outside that is missing from the one-folder checkout makes that look fail, and so also
        leads here to the whole commit). A push then exports only the folders of the apps it
        changed (docs/architecture.md, "Costs that grow with the fleet").
        """
        if not artifact.partial:
            return artifact
        key, engine = await self.input_key(app, artifact)
        if engine is not None and key == artifact.tree:
            return artifact
        return await self.git.whole(app.spec.source.repo_url, artifact)

    async def render_artifact(
        self,
        app: Application,
        revision: str,
        artifact: Artifact,
        kube_version: str,
        api_versions: list[str],
        *,
        value_roots: Mapping[str, Path] | None = None,
        extra_key: str = "",
    ) -> Desired:
        """Render the artifact; ``value_roots`` are other sources' checkouts its ``$ref/`` Helm value
        files read, whose content ``extra_key`` stands for in the cache key."""
        tree, engine = await self.input_key(app, artifact)
        if extra_key:
            tree = _INPUTS + hashlib.sha256(f"{tree}\n{extra_key}".encode()).hexdigest()
        params = dataclasses.replace(
            render_params(app, self.plugins, commit=artifact.commit), decryption=self.trust.decryption(app)
        )
        values = await helm_values(app, self.secrets)  # helm.valuesFrom, read now
        if values is not None:
            params = dataclasses.replace(params, helm=dataclasses.replace(params.helm, values=values))
        if value_roots:
            roots = tuple((name, str(root)) for name, root in sorted(value_roots.items()))
            params = dataclasses.replace(params, helm=dataclasses.replace(params.helm, value_roots=roots))
        charts = DependencyCharts(
            repositories=self.repositories,
            project=self.project_of(app.spec.project),
            credentials=self.credentials,
            dest=self.charts_dir,
        )
        before = self.render_cache.misses
        started = time.monotonic()
        result: RenderResult = await render_cached(
            artifact.directory,
            root=artifact.root,
            tree=tree,
            params=params,
            tools=self.tools,
            kube_version=kube_version,
            api_versions=api_versions,
            cache=self.render_cache,
            settings=self.render_settings,
            engine=engine,
            charts=charts,
        )
        self.renders += self.render_cache.misses - before
        cache = "miss" if self.render_cache.misses > before else "hit"
        metrics.RENDER_SECONDS.labels(cache).observe(time.monotonic() - started)
        children = tuple(m for m in result.manifests if _is_child_app(m))
        objects = tuple(m for m in result.manifests if not _is_child_app(m))
        return Desired(
            revision=revision,
            commit=artifact.commit,
            tree=tree,
            digest=result.digest,
            objects=objects,
            children=children,
            engine=result.engine,
        )

    async def verify(self, app: Application, revision: str, artifact: Artifact) -> None:
        """Refuse the artifact unless its commit passes every signature rule of the app (``trust``);
        a verdict is remembered per commit and key set, so a no-op reconcile runs no git."""
        source = app.spec.source
        requirements = self.trust.requirements(
            app,
            project=self.project_of(app.spec.project),
            repository=credentials_for(self.repositories, source.repo_url),
        )
        if not requirements:
            return
        if source.is_bucket:
            raise Stalled(
                f"{requirements[0].where} requires signed commits, and {source.repo_url} is a bucket, "
                "which has no commit signatures; nothing is applied",
                reason="SignatureUnverifiable",
            )
        if source.is_oci_artifact:
            raise Stalled(
                f"{requirements[0].where} requires signed commits, and {source.repo_url} is an OCI artifact, "
                "which has no commit signatures; nothing is applied",
                reason="SignatureUnverifiable",
            )
        if source.chart:
            raise Stalled(
                f"{requirements[0].where} requires signed commits, and chart {source.chart!r} comes from a "
                "Helm repository, which has no commit signatures; nothing is applied",
                reason="SignatureUnverifiable",
            )
        await check_signatures(
            requirements,
            git=self.git,
            verifier=self.signatures,
            url=source.repo_url,
            revision=revision,
            commit=artifact.commit,
        )

    async def input_key(self, app: Application, artifact: Artifact) -> tuple[str, str | None]:
        """What decides the app's render at the artifact's commit, as one hash, and its engine.

        The path's tree hash when the render reads nothing outside the path (the common case); else a
        digest of the Git hash of every path it reads (an overlay's ``../base``, a chart's values files
        in a sibling folder), so a change there re-renders the app and wakes it on a push. Remembered
        per commit: a commit never changes. The engine is None when the folder could not be read (the
        render then reports why).
        """
        source = app.spec.source
        if source.chart or source.is_oci_artifact or source.is_bucket or not artifact.tree:
            return artifact.tree, None
        try:
            params = render_params(app, self.plugins)
        except RenderError:
            return artifact.tree, None  # the render reports the problem
        memo = (app.spec.source.repo_url, artifact.commit, artifact.path, params.digest(), artifact.partial)
        found = self._input_keys.get(memo)
        if found is not None:
            return found
        try:
            inputs = await asyncio.to_thread(
                render_inputs,
                artifact.directory,
                root=artifact.root,
                params=params,
                settings=self.render_settings,
            )
        except RenderError:
            return artifact.tree, None  # not remembered: the render reports the problem
        key = artifact.tree
        if len(inputs.paths) > 1:
            url = app.spec.source.repo_url
            lines = [f"{path}={self.git.tree_hash(url, artifact.commit, path)}" for path in inputs.paths]
            key = _INPUTS + hashlib.sha256("\n".join(lines).encode()).hexdigest()
        if len(self._input_keys) >= 8192:
            self._input_keys.clear()
        self._input_keys[memo] = (key, inputs.engine)
        return key, inputs.engine

    async def input_changed(self, app: Application, revision: str, previous: str | None) -> bool:
        """Whether the app's input key at ``revision`` in the mirror as it is now (no fetch) differs
        from ``previous``, the key of its last reconcile.

        When ``previous`` is a plain tree hash (the app read nothing outside its path), comparing the
        path's tree hash is enough, without a checkout: an identical folder has the same references, so
        it still reads nothing outside it. A push thus costs one hash lookup per app, not one checkout
        and one look at the folder.
        """
        return await self.current_input(app, revision, previous) != previous

    async def current_input(self, app: Application, revision: str, previous: str | None) -> str:
        """The app's input key at ``revision`` in the mirror as it is now, computed the way
        ``input_changed`` compares it with ``previous``; FetchError when the revision is unknown."""
        source = app.spec.source
        if app.spec.sources:
            return await several.current_input(self, app)
        if previous and not previous.startswith(_INPUTS):
            commit = self.git.resolve(source.repo_url, revision)
            return self.git.tree_hash(source.repo_url, commit, source.path)
        artifact = await self.git.artifact(source.repo_url, revision, source.path, fetch=False)
        return (await self.input_key(app, artifact))[0]
