"""CPU of rendering N apps of one commit: each from an export of its own folder, or all from one
export of the whole commit (docs/architecture.md, "Costs that grow with the fleet", Checkouts).

Why: a push to a large repository renders the few apps it changed and must not export the whole
commit for them (B7's B2), while a first sync renders every app and must not pay a folder export per
app (B7's cold sync). This runs ``SourceFetcher.desired`` in-process, 8 apps at a time like the
engine, over N apps of one Deployment and one ConfigMap each in a local bare repository, and prints
wall time, process CPU (worker threads included) and the exports made.

Run: ``.venv/bin/python -m bench.bench_checkout --apps 2000 --mode folders`` (``--mode whole``: every
app reads one whole export, the way before folder exports).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from devtools.toolchain import tool_path

from bench.workload import create_fleet_repo, gitward_config
from gitward.model import Application, load_objects
from gitward.reconcile.desired import SourceFetcher
from gitward.render import RenderSettings, RenderTools
from gitward.sources import gitcache
from gitward.sources.gitread import make_writable


def _apps(url: str, count: int, work: Path) -> list[Application]:
    """The apps B7 runs (``workload.gitward_config``), with their sync policy and render settings."""
    text = gitward_config(
        clusters={"c1": work / "no-kubeconfig"}, repo_url=url, apps=count, interval="60s",
        secret_file=work / "no-secret",
    )  # fmt: skip
    config = load_objects(list(yaml.safe_load_all(text)))
    if config.errors:
        raise SystemExit(f"the benchmark's config is refused: {config.errors}")
    return config.applications


def _whole_exports_only() -> None:
    """Every checkout of the whole commit, whatever folder is asked for."""
    folder_checkout = gitcache.GitCache.checkout

    async def whole(self: gitcache.GitCache, url: str, commit: str, path: str = "") -> Path:
        return await folder_checkout(self, url, commit, "")

    gitcache.GitCache.checkout = whole  # type: ignore[method-assign]


async def measure(count: int, work: Path) -> dict[str, float]:
    repo = create_fleet_repo(work / "repo", count, kinds=("ConfigMap", "Deployment"))
    url = f"file://{repo.bare}"
    apps = _apps(url, count, work)
    tools = RenderTools(kustomize=tool_path("kustomize"), helm=tool_path("helm"))
    fetcher = SourceFetcher(
        cache_dir=work / "cache", tools=tools, render_settings=RenderSettings(),
        render_cache_entries=count * 2, fetch_freshness=3600.0, fetch_min_interval=0.0,
    )  # fmt: skip
    await fetcher.fetch_repository(url)
    gate = asyncio.Semaphore(8)

    async def one(app: Application) -> None:
        async with gate:
            await fetcher.desired(app, "main", fetch=False, kube_version="v1.36.3", api_versions=[])

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(app) for app in apps))
    exports = [p for p in (fetcher.git.root / "checkouts").iterdir() if not p.name.startswith(".")]
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "exports": len(exports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--mode", choices=("folders", "whole"), default="folders")
    args = parser.parse_args()
    if args.mode == "whole":
        _whole_exports_only()
    work = Path(tempfile.mkdtemp(prefix="gitward-bench-checkout-"))
    try:
        found = asyncio.run(measure(args.apps, work))
    finally:
        make_writable(work)
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.apps} apps, {args.mode}: wall {found['wall']:.2f} s, CPU {found['cpu']:.2f} s "
        f"({found['cpu'] / args.apps * 1000:.2f} ms per app), {found['exports']:.0f} export(s)"
    )


if __name__ == "__main__":
    main()
