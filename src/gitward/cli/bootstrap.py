"""``gitward bootstrap``: commit gitward's install and its own Application to Git, then apply them.

Like ``flux bootstrap``: after it, the gitward running in the cluster (``run --from-cluster``)
manages itself from the repository. What is written, and why it is safe, is in
``install/bootstrap.py``. The steps, each stopping everything after it when it fails:

1. check the arguments and read the credential files; the Application to commit must load;
2. reach the cluster (``--kubeconfig`` or ``KUBECONFIG``): a wrong kubeconfig fails before Git is
   touched;
3. clone the branch, refuse a path that holds something bootstrap did not write, write the two files,
   commit and push only when they changed (``sources/gitpush.py``): a bad URL or refused credentials
   end here, with nothing applied;
4. apply server-side as field manager ``gitward``: the install (CRDs first, then waited for until
   Established), the credentials Secret (never in Git), the Repository and the Application.

Credentials come from files, as a Repository's do: ``--username`` with ``--password-file``,
``--bearer-token-file``, or ``--ssh-key-file`` with ``--known-hosts-file``. They are used for the
push and put in the Secret ``gitward-bootstrap-git`` that the committed Repository names, so the
gitward in the cluster can fetch the repository. No value is ever printed.

Deliberately not here: building the files (``install/bootstrap.py``), Git (``sources/gitpush.py``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitward.cli.client import CliError
from gitward.cli.install import _kubeconfig
from gitward.cli.output import reporting_errors
from gitward.core.errors import GitwardError
from gitward.core.redact import redact_url
from gitward.core.repourl import credential_in
from gitward.install import Settings
from gitward.install.bootstrap import (
    BOOTSTRAP_FILE,
    FOLDER,
    INSTALL_FILE,
    Bootstrap,
    Credentials,
    PathNotOurs,
    Target,
    build_bootstrap,
    check_path,
)
from gitward.install.manifests import DEFAULT_IMAGE, DEFAULT_NAMESPACE, FIELD_MANAGER
from gitward.model import load_object
from gitward.model.common import check_namespace, normalize_relative_path
from gitward.sources import GitCredentials

if TYPE_CHECKING:
    from gitward.cluster.lightkube_client import LightkubeClient

CRD_TIMEOUT = 60.0


def bootstrap(
    repo: Annotated[str, typer.Option("--repo", help="Git repository URL gitward manages itself from.")],
    path: Annotated[str, typer.Option("--path", help="Folder of the repository for this cluster.")],
    branch: Annotated[str, typer.Option("--branch", help="Branch to commit to and follow.")] = "main",
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace gitward runs in.")
    ] = DEFAULT_NAMESPACE,
    image: Annotated[str, typer.Option("--image", help="Container image of gitward.")] = DEFAULT_IMAGE,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Cluster to bootstrap; default: KUBECONFIG.")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="Git user name.")] = None,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="File holding the Git password.", exists=True)
    ] = None,
    bearer_token_file: Annotated[
        Path | None, typer.Option("--bearer-token-file", help="File holding a Git bearer token.", exists=True)
    ] = None,
    ssh_key_file: Annotated[
        Path | None, typer.Option("--ssh-key-file", help="SSH private key for Git.", exists=True)
    ] = None,
    known_hosts_file: Annotated[
        Path | None, typer.Option("--known-hosts-file", help="known_hosts for SSH URLs.", exists=True)
    ] = None,
) -> None:
    """Commit gitward's install and its own Application to Git, then apply them to the cluster."""
    with reporting_errors():
        target = _target(repo, path, branch, namespace, image)
        files = _Files(username, password_file, bearer_token_file, ssh_key_file, known_hosts_file)
        plan = build_bootstrap(target, files.credentials())
        config = _kubeconfig(kubeconfig)
        for line in asyncio.run(_bootstrap(config, target, plan, files.git())):
            typer.echo(line)


def _target(repo: str, path: str, branch: str, namespace: str, image: str) -> Target:
    credential = credential_in(repo)
    if credential:
        raise CliError(
            f"--repo {redact_url(repo)} holds {credential}: give credentials with --username and "
            "--password-file, --bearer-token-file or --ssh-key-file, never in the URL (it is committed)"
        )
    try:
        check_namespace(namespace)
        clean = normalize_relative_path(path.strip())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not namespace:
        raise CliError("--namespace must not be empty")
    if not clean:
        raise CliError("--path must name a folder of the repository (clusters/NAME), not its root")
    settings = Settings(namespace=namespace, image=image)
    target = Target(repo_url=repo, branch=branch, path=clean, settings=settings)
    try:
        load_object(build_bootstrap(target, Credentials()).objects[-1])  # the Application must load
    except Exception as exc:
        raise CliError(f"the Application would not load: {exc}") from None
    return target


class _Files:
    """The credential options, checked together and read once."""

    def __init__(
        self,
        username: str | None,
        password: Path | None,
        token: Path | None,
        ssh_key: Path | None,
        known_hosts: Path | None,
    ) -> None:
        if password is not None and username is None:
            raise CliError("--password-file needs --username")
        if sum(x is not None for x in (password, token, ssh_key)) > 1:
            raise CliError("give one of --password-file, --bearer-token-file, --ssh-key-file")
        if ssh_key is not None and known_hosts is None:
            raise CliError("--ssh-key-file needs --known-hosts-file: no SSH host is trusted without it")
        self.username, self.password, self.token = username, password, token
        self.ssh_key, self.known_hosts = ssh_key, known_hosts

    @staticmethod
    def _read(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None

    def credentials(self) -> Credentials:
        ssh_key = None
        if self.ssh_key is not None:
            try:
                ssh_key = self.ssh_key.read_text()
            except OSError as exc:
                raise CliError(f"cannot read {self.ssh_key}: {exc.strerror}") from None
        return Credentials(
            username=self.username,
            password=self._read(self.password),
            bearer_token=self._read(self.token),
            ssh_private_key=ssh_key,
            known_hosts=self._read(self.known_hosts),
        )

    def git(self) -> GitCredentials | None:
        if not any((self.username, self.password, self.token, self.ssh_key, self.known_hosts)):
            return None
        return GitCredentials(
            username=self.username,
            password=self._read(self.password),
            bearer_token=self._read(self.token),
            ssh_private_key=self.ssh_key.resolve() if self.ssh_key else None,
            known_hosts=self.known_hosts.resolve() if self.known_hosts else None,
        )


async def _bootstrap(
    kubeconfig: Path, target: Target, plan: Bootstrap, credentials: GitCredentials | None
) -> list[str]:
    """Imported here: only this command needs the cluster client and git."""
    from gitward.cluster.lightkube_client import LightkubeClient

    try:
        client = await LightkubeClient.from_kubeconfig(kubeconfig)
        await client.server_version()
    except GitwardError as exc:
        raise CliError(f"cannot reach the cluster: {exc.message}") from None
    try:
        lines = [await _commit(target, plan, credentials)]
        lines += await _apply(client, plan)
    finally:
        await client.close()
    return lines


async def _commit(target: Target, plan: Bootstrap, credentials: GitCredentials | None) -> str:
    from gitward.sources.gitpush import BranchCheckout

    where = f"{target.branch} of {_shown(target.repo_url)}"
    try:
        checkout = await BranchCheckout.open(target.repo_url, target.branch, credentials)
    except GitwardError as exc:
        raise CliError(f"cannot clone {where}: {exc.message}") from None
    try:
        check_path(target.path, checkout.files_under(target.path))
        checkout.write(plan.files)
        message = (
            f"gitward bootstrap: {target.path}/{FOLDER} for namespace {target.settings.namespace}\n\n"
            f"{INSTALL_FILE}: gitward's install, synced by the Application {target.app_name!r}.\n"
            f"{BOOTSTRAP_FILE}: that Application, applied by gitward bootstrap.\n"
        )
        pushed = await checkout.commit_and_push(message, paths=[f"{target.path}/{FOLDER}"])
    except PathNotOurs as exc:
        raise CliError(f"nothing committed or applied: {exc}") from None
    except GitwardError as exc:
        raise CliError(f"nothing applied: {exc.message}") from None
    finally:
        checkout.close()
    if pushed.changed:
        return f"committed {pushed.commit[:12]} to {where}: {target.path}/{FOLDER}/"
    return f"nothing to commit: {target.path}/{FOLDER}/ is up to date on {where}"


def _shown(url: str) -> str:
    from gitward.sources.credentials import display_url

    return display_url(url)


async def _apply(client: LightkubeClient, plan: Bootstrap) -> list[str]:
    """The install, the CRDs waited for, then the Secret and the gitward objects."""
    crds = [m for m in plan.objects if m["kind"] == "CustomResourceDefinition"]
    install = [m for m in plan.objects if m["kind"] != "CustomResourceDefinition" and _builtin(m)]
    own = [m for m in plan.objects if not _builtin(m)]
    lines = [await _apply_one(client, m) for m in (*crds, *install)]
    await _wait_established(client, [m["metadata"]["name"] for m in crds])
    client.discovery.invalidate()  # the new kinds are served now
    if plan.secret is not None:
        lines.append(await _apply_one(client, plan.secret) + " (credentials)")
    lines += [await _apply_one(client, m) for m in own]
    return lines


def _builtin(manifest: dict[str, Any]) -> bool:
    return not str(manifest["apiVersion"]).startswith("gitward.dev/")


async def _apply_one(client: LightkubeClient, manifest: dict[str, Any]) -> str:
    meta = manifest["metadata"]
    what = f"{manifest['kind']} {meta['namespace'] + '/' if 'namespace' in meta else ''}{meta['name']}"
    try:
        await client.apply(manifest, field_manager=FIELD_MANAGER, force=True)
    except GitwardError as exc:
        raise CliError(f"{what}: {exc.message}") from None
    return f"applied {what}"


async def _wait_established(client: LightkubeClient, names: list[str]) -> None:
    deadline = time.monotonic() + CRD_TIMEOUT
    for name in names:
        while True:
            crd = await client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", name)
            conditions = ((crd or {}).get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise CliError(f"CustomResourceDefinition {name} not Established after {CRD_TIMEOUT:g}s")
            await asyncio.sleep(0.5)
