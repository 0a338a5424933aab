"""``gitward crds`` and ``gitward install``: gitward's custom resource definitions and its in-cluster install.

``crds`` prints the CRDs (``model/crds.py``) as a YAML stream, for ``kubectl apply --server-side -f -``.
``install --export`` prints every manifest (``gitward.install``) with a header saying what does not
work yet. ``install`` without ``--export`` applies server-side, as field manager ``gitward``, to the
cluster of ``--kubeconfig`` (or ``KUBECONFIG``): the CRDs, the namespace, the service account, the
RBAC and the workload (Deployment running ``gitward run --from-cluster``, Service,
PodDisruptionBudget); ``--no-workload`` leaves the workload out. No image is published yet
(``WORKLOAD_NOTE``): ``--image`` names the one to run. ``--replicas N`` above 1 needs ``--state
postgresql://...`` (the pods then run as replicas sharing it, ``run --ha``; ``--state-secret`` names
the Secret holding the database password): it is refused with a SQLite state, which each pod keeps
for itself.

Deliberately not here: building the manifests (``gitward.install``), deleting anything.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli.client import CliError
from gitward.cli.output import reporting_errors
from gitward.core.errors import GitwardError
from gitward.install import WORKLOAD_NOTE, Settings, build, refusal, to_yaml
from gitward.install.manifests import DEFAULT_IMAGE, DEFAULT_NAMESPACE, FIELD_MANAGER
from gitward.model.common import check_namespace


def crds() -> None:
    """Print gitward's CustomResourceDefinitions (group gitward.dev) as YAML."""
    typer.echo(to_yaml(build().crds), nl=False)


def install(
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace gitward runs in.")
    ] = DEFAULT_NAMESPACE,
    replicas: Annotated[int, typer.Option("--replicas", min=1, help="Replicas of the Deployment.")] = 1,
    image: Annotated[str, typer.Option("--image", help="Container image of gitward.")] = DEFAULT_IMAGE,
    export: Annotated[
        bool, typer.Option("--export", help="Print every manifest instead of applying.")
    ] = False,
    apply_role: Annotated[
        bool,
        typer.Option(
            "--apply-role/--no-apply-role",
            help="Include the separate gitward-apply ClusterRole (* on all) for syncing to in-cluster.",
        ),
    ] = True,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Cluster to install into; default: KUBECONFIG.")
    ] = None,
    workload: Annotated[
        bool,
        typer.Option(
            "--workload/--no-workload",
            help="Apply the Deployment (run --from-cluster), Service and PodDisruptionBudget too.",
        ),
    ] = True,
    state: Annotated[
        str,
        typer.Option(
            "--state", help="postgresql://USER@HOST:PORT/DB the replicas share [a SQLite file in the pod]."
        ),
    ] = "",
    state_secret: Annotated[
        str,
        typer.Option("--state-secret", help="Secret in --namespace whose key `password` is the database's."),
    ] = "",
) -> None:
    """Install gitward into a cluster (CRDs, RBAC, the controller), or print it all with --export."""
    with reporting_errors():
        try:
            check_namespace(namespace)
        except ValueError as exc:
            raise CliError(f"--namespace: {exc}") from None
        if not namespace:
            raise CliError("--namespace must not be empty")
        settings = Settings(
            namespace=namespace,
            replicas=replicas,
            image=image,
            apply_role=apply_role,
            state=state,
            state_secret=state_secret,
        )
        _check_state(settings)
        manifests = build(settings)
        if export:
            typer.echo(to_yaml(manifests.everything, header=_export_header()), nl=False)
            return
        path = _kubeconfig(kubeconfig)
        chosen = manifests.everything if workload else manifests.applicable
        for line in asyncio.run(_apply(path, chosen)):
            typer.echo(line)
    if workload:
        typer.echo(WORKLOAD_NOTE, err=True)
    else:
        typer.echo("not applied (--no-workload): Deployment, Service, PodDisruptionBudget", err=True)


def _check_state(settings: Settings) -> None:
    """Refuse what cannot run (``install.refusal``) and a state URL holding a password."""
    why = refusal(settings)
    if why is not None:
        raise CliError(f"--replicas {settings.replicas}: {why}" if "replica" in why else why)
    if settings.state:
        from gitward.store.database import database_url

        try:
            database_url(settings.state)  # refuses a password in the URL, without showing it
        except GitwardError as exc:
            raise CliError(f"--state: {exc.message}") from None


def _export_header() -> str:
    return (
        "gitward install --export: CRDs, namespace, service account, RBAC, Deployment, Service,\n"
        "PodDisruptionBudget. Apply with: kubectl apply --server-side -f -\n"
        "\n" + textwrap.fill(WORKLOAD_NOTE, width=100) + "\n"
    )


def _kubeconfig(option: Path | None) -> Path:
    if option is not None:
        return option
    first = next((p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p), None)
    if first is None:
        raise CliError("no cluster: give --kubeconfig or set KUBECONFIG (or use --export to print instead)")
    return Path(first)


async def _apply(kubeconfig: Path, manifests: tuple[dict[str, Any], ...]) -> list[str]:
    """Server-side apply in order; one line per object. Imported here: ``gitward app ...`` never
    loads the cluster client."""
    from gitward.cluster.lightkube_client import LightkubeClient

    lines = []
    try:
        client = await LightkubeClient.from_kubeconfig(kubeconfig)
    except GitwardError as exc:
        raise CliError(f"{exc.reason}: {exc.message}") from None
    try:
        for manifest in manifests:
            meta = manifest["metadata"]
            where = f"{meta['namespace']}/" if "namespace" in meta else ""
            what = f"{manifest['kind']} {where}{meta['name']}"
            try:
                await client.apply(manifest, field_manager=FIELD_MANAGER, force=True)
            except GitwardError as exc:
                raise CliError(f"{what}: {exc.message}") from None
            lines.append(f"applied {what}")
    finally:
        await client.close()
    return lines
