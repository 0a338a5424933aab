"""Build the pinned third-party binaries gitward is tested against, once, from the Go module proxy.

Why here: the machines have no Kubernetes packages and no download sites, only the Go module proxy.
Every binary is built from source at a pinned version and kept in a cache folder keyed by name and
version (``~/.cache/gitward/tools/<name>-<version>/``) outside the repository, so a second run builds
nothing and CI on a warm machine is fast.

Kubernetes and etcd cannot be ``go install``-ed (their go.mod files carry ``replace`` directives), so each
is built inside a small generated wrapper module; Kubernetes' staging modules are replaced by their
published ``v0.X.Y`` releases, and the version is stamped in with ``-ldflags`` so servers report the
real version. Deliberately not here: starting anything (see ``localcluster``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
KWOK_VERSION = "v0.8.0"
KUSTOMIZE_VERSION = "v5.8.1"
HELM_VERSION = "v3.22.0"
# sops and age-keygen make the encrypted test fixtures (gitward decrypts with sops too, see
# src/gitward/render/sops.py); age v1.3.1 is the version sops v3.13.3 requires, so age-keygen
# reuses the packages the sops build compiled.
SOPS_VERSION = "v3.13.3"
AGE_VERSION = "v1.3.1"
# go-jsonnet's `jsonnet` evaluates the *.jsonnet files of directory apps (src/gitward/render/jsonnet.py).
JSONNET_VERSION = "v0.22.0"
# Flux's controllers: the newest releases whose go.mod says `go 1.26.0` (v1.10.x says 1.27.0).
FLUX_SOURCE_CONTROLLER_VERSION = "v1.9.6"
FLUX_KUSTOMIZE_CONTROLLER_VERSION = "v1.9.6"
FLUX_CONTROLLERS = {
    "source-controller": ("github.com/fluxcd/source-controller", FLUX_SOURCE_CONTROLLER_VERSION),
    "kustomize-controller": ("github.com/fluxcd/kustomize-controller", FLUX_KUSTOMIZE_CONTROLLER_VERSION),
}
# source-controller v1.9.6 requires github.com/fluxcd/pkg/artifact v0.18.3, which the module proxy does not
# serve (403 "This module version is not available"; neither v0.18.2 nor v0.8.1 of older releases).
# v0.18.0 is served and its Go files are identical to v0.18.3's (only go.mod minimums differ, and
# source-controller requires those newer minimums itself), so the binary is the same code.
FLUX_SUBSTITUTES = {
    "source-controller": {"github.com/fluxcd/pkg/artifact": "v0.18.0"},
}

# Argo CD (benchmark peer): its application-controller and repo-server. From v3.3 on, Argo CD's go.mod
# replaces its gitops-engine with a folder of its own repository, which a module download leaves out:
# v3.4-v3.6 name it `github.com/argoproj/argo-cd/gitops-engine` (v3.6: `.../gitops-engine/v3`, whose
# published v3.6.0/v3.6.1 fail `go get`), and v3.3's copy has API the separately published
# `github.com/argoproj/gitops-engine` lacks at every version v3.3 could take (v3.3.19 with it fails:
# "KubectlCmd has no field or method ManageServerSideDiffDryRuns"). v3.2 is the newest line that
# requires the published module (at a pseudo-version the proxy serves) with no local replace; its last
# release, v3.2.12, does not compile as published ("undefined: settings.ValidateExternalURL" in
# controller/cache), so v3.2.11.
ARGOCD_VERSION = "v3.2.11"
ARGOCD_MODULE = "github.com/argoproj/argo-cd/v3"
ARGOCD_BINARY = "argocd"
ARGOCD_MAIN = """package main

// Argo CD's application-controller and repo-server in one binary; ARGOCD_BINARY_NAME picks which one
// runs, as in Argo CD's own images (whose main also carries the CLI, the API server and the UI).

import (
\t"fmt"
\t"os"

\t"github.com/spf13/cobra"

\tappcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
\treposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
)

func main() {
\tvar command *cobra.Command
\tswitch name := os.Getenv("ARGOCD_BINARY_NAME"); name {
\tcase "argocd-application-controller":
\t\tcommand = appcontroller.NewCommand()
\tcase "argocd-repo-server":
\t\tcommand = reposerver.NewCommand()
\tdefault:
\t\tfmt.Fprintf(os.Stderr, "ARGOCD_BINARY_NAME %q: neither of the two commands\\n",
\t\t\tname)
\t\tos.Exit(2)
\t}
\tif err := command.Execute(); err != nil {
\t\tos.Exit(1)
\t}
}
"""

# Dex (the OIDC provider the SSO tests log in through). Its releases are tagged v2.x.y while its go.mod
# says `module github.com/dexidp/dex`, so the module proxy serves them only as pseudo-versions: the one
# below is the commit of release v2.41.1. The proxy refuses `@master`, `@v2.44.0` and the v2.40.x
# pseudo-versions tried; this one is served.
DEX_VERSION = "v2.41.1"
DEX_MODULE_VERSION = "v0.0.0-20240807174518-43956db7fd75"
# Dex's go.mod replaces its api/v2 module with the local folder. The published v2.1.0 it requires lacks
# messages the server uses; the pseudo-version of the same commit is served but unknown to the checksum
# database (404), so v2.2.0 -- the next release, a superset of those messages -- is used.
DEX_SUBSTITUTES = {"github.com/dexidp/dex/api/v2": "v2.2.0"}

# The CNCF distribution registry: the OCI registry the OCI source tests push charts and artifacts to.
GOFAKES3_VERSION = "v1.2.0"  # an S3-compatible server for the Flux Bucket tests
REGISTRY_VERSION = "v3.1.2"
REGISTRY_MODULE = "github.com/distribution/distribution/v3"

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


class ToolError(RuntimeError):
    """A build step failed; the message names the step and the log file to read."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("GITWARD_CACHE", str(Path(base) / "gitward")))


def go_env() -> dict[str, str]:
    """Go caches live outside the repository so clean clones reuse them."""
    env = dict(os.environ)
    root = cache_root()
    env.setdefault("GOMODCACHE", str(root / "gomod"))
    env.setdefault("GOCACHE", str(root / "gobuild"))
    env["GOFLAGS"] = "-mod=mod"
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOTOOLCHAIN", "local")
    return env


@dataclass(frozen=True)
class Tool:
    """One pinned binary: where it lives once built."""

    name: str
    version: str

    @property
    def directory(self) -> Path:
        return cache_root() / "tools" / f"{self.name}-{self.version}"

    @property
    def path(self) -> Path:
        return self.directory / self.name

    def is_built(self) -> bool:
        return self.path.is_file() and os.access(self.path, os.X_OK)


def _log_path(step: str) -> Path:
    logs = cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"build-{step}.log"


def _run(step: str, argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run one build command, logging to a file; raise a one-line error naming step and log."""
    if shutil.which("go") is None:
        raise ToolError(f"{step}: the Go toolchain is missing (install Go >= 1.26 and put `go` on PATH)")
    log = _log_path(step)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        result = subprocess.run(argv, cwd=cwd, env=env or go_env(), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        shown = argv[3:] if argv[:3] == ["nice", "-n", "19"] else argv
        raise ToolError(f"{step}: `{' '.join(shown[:3])}` failed (exit {result.returncode}); read {log}")


def _install_atomically(built: Path, tool: Tool) -> None:
    tool.directory.mkdir(parents=True, exist_ok=True)
    tmp = tool.directory / f".{tool.name}.tmp"
    shutil.copy2(built, tmp)
    tmp.chmod(0o755)
    tmp.replace(tool.path)


def _go_install(tool: Tool, package: str, *, ldflags: str = "") -> Path:
    """`go install pkg@version` into a scratch GOBIN, then move the binary into the cache."""
    if tool.is_built():
        return tool.path
    gobin = cache_root() / "scratch" / f"{tool.name}-{tool.version}"
    gobin.mkdir(parents=True, exist_ok=True)
    env = go_env()
    env["GOBIN"] = str(gobin)
    argv = ["go", "install"]
    if ldflags:
        argv += ["-ldflags", ldflags]
    argv.append(f"{package}@{tool.version}")
    _run(tool.name, argv, env=env)
    _install_atomically(gobin / tool.name, tool)
    return tool.path


def _module_download(module: str, version: str) -> dict[str, str]:
    """``go mod download -json`` of one module version: where its go.mod and source landed."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise ToolError(f"download {module}@{version} failed: {out.stderr.strip()[:300]}")
    info: dict[str, str] = json.loads(out.stdout)
    return info


def _module_file(module: str, version: str) -> str:
    return Path(_module_download(module, version)["GoMod"]).read_text()


def staging_replacements(kubernetes_go_mod: str, kube_version: str) -> list[str]:
    """Each staging module k8s.io/kubernetes requires at v0.0.0 maps to its published v0.<minor>.<patch>."""
    staging_version = "v0." + kube_version.removeprefix("v1.")
    modules = sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+) v0\.0\.0\s*$", kubernetes_go_mod, re.M)))
    return [f"\t{m} => {m} {staging_version}" for m in modules]


def _wrapper(name: str, go_mod: str, main_go: str | None, tools_go: str | None) -> Path:
    work = cache_root() / "wrappers" / name
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(go_mod)
    if main_go is not None:
        (work / "main.go").write_text(main_go)
    if tools_go is not None:
        (work / "tools.go").write_text(tools_go)
    return work


def build_kubernetes() -> dict[str, Path]:
    tools = {cmd: Tool(cmd, KUBERNETES_VERSION) for cmd in KUBE_COMMANDS}
    if all(t.is_built() for t in tools.values()):
        return {c: t.path for c, t in tools.items()}
    go_mod_text = _module_file("k8s.io/kubernetes", KUBERNETES_VERSION)
    go_line = re.search(r"^go (\S+)", go_mod_text, re.M)
    replaces = "\n".join(staging_replacements(go_mod_text, KUBERNETES_VERSION))
    go_mod = (
        "module gitward.dev/kubebuild\n\n"
        f"go {go_line.group(1) if go_line else '1.26.0'}\n\n"
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}\n\n"
        f"replace (\n{replaces}\n)\n"
    )
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{c}"' for c in KUBE_COMMANDS)
    tools_go = f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"
    work = _wrapper(f"kubernetes-{KUBERNETES_VERSION}", go_mod, None, tools_go)
    _run("kubernetes-mod-tidy", ["go", "mod", "tidy"], cwd=work)
    minor = KUBERNETES_VERSION.split(".")[1]
    stamp = "k8s.io/component-base/version"
    ldflags = (
        f"-s -w -X {stamp}.gitVersion={KUBERNETES_VERSION} -X {stamp}.gitMajor=1 -X {stamp}.gitMinor={minor}"
        f" -X {stamp}.gitTreeState=clean"
    )
    for cmd, tool in tools.items():
        if tool.is_built():
            continue
        out = work / "bin" / cmd
        _run(
            cmd,
            ["go", "build", "-ldflags", ldflags, "-o", str(out), f"k8s.io/kubernetes/cmd/{cmd}"],
            cwd=work,
        )
        _install_atomically(out, tool)
    return {c: t.path for c, t in tools.items()}


ETCD_MAIN = """package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""


def build_etcd() -> Path:
    tool = Tool("etcd", ETCD_VERSION)
    if tool.is_built():
        return tool.path
    go_mod = f"module gitward.dev/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
    work = _wrapper(f"etcd-{ETCD_VERSION}", go_mod, ETCD_MAIN, None)
    _run("etcd-mod-tidy", ["go", "mod", "tidy"], cwd=work)
    out = work / "bin" / "etcd"
    _run("etcd", ["go", "build", "-ldflags", "-s -w", "-o", str(out), "."], cwd=work)
    _install_atomically(out, tool)
    return tool.path


def build_kwok() -> Path:
    return _go_install(Tool("kwok", KWOK_VERSION), "sigs.k8s.io/kwok/cmd/kwok", ldflags="-s -w")


def build_kustomize() -> Path:
    return _go_install(
        Tool("kustomize", KUSTOMIZE_VERSION), "sigs.k8s.io/kustomize/kustomize/v5", ldflags="-s -w"
    )


def build_helm() -> Path:
    stamp = "helm.sh/helm/v3/internal/version"
    kube = "helm.sh/helm/v3/pkg/chartutil"
    minor = KUBERNETES_VERSION.split(".")[1]
    ldflags = (
        f"-s -w -X {stamp}.version={HELM_VERSION} -X {stamp}.gitTreeState=clean"
        f" -X {kube}.k8sVersionMajor=1 -X {kube}.k8sVersionMinor={minor}"
    )
    return _go_install(Tool("helm", HELM_VERSION), "helm.sh/helm/v3/cmd/helm", ldflags=ldflags)


def module_replacements(go_mod: str) -> list[str]:
    """The `replace` directives of a go.mod whose target is a module version, not a local folder."""
    body = re.sub(r"//[^\n]*", "", go_mod)
    lines: list[str] = []
    for block in re.findall(r"^replace\s*\(\n(.*?)^\)", body, re.M | re.S):
        lines += block.splitlines()
    lines += re.findall(r"^replace\s+([^(\n].*)$", body, re.M)
    out = []
    for line in (ln.strip() for ln in lines):
        if "=>" not in line:
            continue
        target = line.split("=>", 1)[1].split()
        if len(target) == 2 and not target[0].startswith((".", "/")):
            out.append(f"\t{line}")
    return out


def build_sops() -> Path:
    return _go_install(Tool("sops", SOPS_VERSION), "github.com/getsops/sops/v3/cmd/sops", ldflags="-s -w")


def build_age_keygen() -> Path:
    return _go_install(Tool("age-keygen", AGE_VERSION), "filippo.io/age/cmd/age-keygen", ldflags="-s -w")


def build_jsonnet() -> Path:
    return _go_install(
        Tool("jsonnet", JSONNET_VERSION), "github.com/google/go-jsonnet/cmd/jsonnet", ldflags="-s -w"
    )


def build_go_main(
    tool: Tool,
    module: str,
    package: str = "",
    *,
    ldflags: str = "-s -w",
    substitutes: dict[str, str] | None = None,
    module_version: str | None = None,
    cgo: bool = False,
    main_go: str | None = None,
) -> Path:
    """Build the main package of a module that `go install` refuses because its go.mod has `replace`
    directives: a wrapper module requires it, copies its non-local replacements, and `go build`s it.
    Local ones (``./api``) fall back to the published module at the version the go.mod requires.

    No `go mod tidy`: it would also resolve the test-only dependencies of the module's packages (some of
    which the proxy does not serve); `go build -mod=mod` resolves exactly what the binary imports.
    ``substitutes`` (module -> version) replaces a dependency the proxy does not serve with one it does.
    ``module_version``: the module version to require when it differs from the tool's (a pseudo-version).
    ``cgo``: build with cgo (a C compiler on PATH) for a main package that needs it.
    ``main_go``: the wrapper's own main package (built instead of ``package``), for a module whose main
    links more than the benchmarks run."""
    if tool.is_built():
        return tool.path
    version = module_version or tool.version
    go_mod_text = _module_file(module, version)
    go_line = re.search(r"^go (\S+)", go_mod_text, re.M)
    replacements = module_replacements(go_mod_text)
    replacements += [f"\t{dep} => {dep} {version}" for dep, version in (substitutes or {}).items()]
    go_mod = (
        f"module gitward.dev/{tool.name}build\n\n"
        f"go {go_line.group(1) if go_line else '1.26.0'}\n\n"
        f"require {module} {version}\n"
    )
    if replacements:
        go_mod += "\nreplace (\n" + "\n".join(replacements) + "\n)\n"
    work = _wrapper(f"{tool.name}-{tool.version}", go_mod, main_go, None)
    (work / "go.sum").unlink(missing_ok=True)
    out = work / "bin" / tool.name
    target = "." if main_go is not None else package or module
    argv = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(out), target]
    env = go_env()
    if cgo:
        env["CGO_ENABLED"] = "1"
    _run(tool.name, ["nice", "-n", "19", *argv], cwd=work, env=env)
    _install_atomically(out, tool)
    return tool.path


def build_flux() -> dict[str, Path]:
    """Flux's source-controller and kustomize-controller (benchmark peers), each in its own wrapper so
    their dependency versions stay exactly the ones each release was tested with."""
    return {
        name: build_go_main(Tool(name, version), module, substitutes=FLUX_SUBSTITUTES.get(name))
        for name, (module, version) in FLUX_CONTROLLERS.items()
    }


def build_argocd() -> Path:
    """Argo CD's application-controller and repo-server (benchmark peers), one binary from a wrapper
    module with its own small main: Argo CD's main also links the CLI, the API server and the web UI,
    whose assets are not in the published module. About 20 minutes on 2 cores from empty caches."""
    stamp = f"{ARGOCD_MODULE}/common"
    return build_go_main(
        Tool(ARGOCD_BINARY, ARGOCD_VERSION),
        ARGOCD_MODULE,
        ldflags=f"-s -w -X {stamp}.version={ARGOCD_VERSION.removeprefix('v')} -X {stamp}.gitTreeState=clean",
        main_go=ARGOCD_MAIN,
    )


def build_dex() -> Path:
    """Dex: its go.mod replaces ``github.com/dexidp/dex/api/v2`` with a local folder, so it is built in a
    wrapper that takes a published api/v2. With cgo: ``cmd/dex`` refers to its SQLite storage, which
    exists only in cgo builds (the tests use the in-memory storage all the same)."""
    stamp = "main.version"
    return build_go_main(
        Tool("dex", DEX_VERSION),
        "github.com/dexidp/dex",
        "github.com/dexidp/dex/cmd/dex",
        ldflags=f"-s -w -X {stamp}={DEX_VERSION}",
        module_version=DEX_MODULE_VERSION,
        substitutes=DEX_SUBSTITUTES,
        cgo=True,
    )


def build_gofakes3() -> Path:
    """gofakes3's server (an S3-compatible API in memory), built when a Bucket test first needs one
    (``devtools/s3server.py``), not by ``./dev setup``."""
    return _go_install(
        Tool("gofakes3", GOFAKES3_VERSION), "github.com/johannesboyne/gofakes3/cmd/gofakes3", ldflags="-s -w"
    )


def build_registry() -> Path:
    """The distribution registry (``registry serve CONFIG``), built in a wrapper module so its version
    is stamped in. Built when a test first needs a registry (the ``oci_registry`` fixture calls this),
    not by ``./dev setup``: a cold build also downloads the modules of its cloud storage drivers."""
    tool = Tool("registry", REGISTRY_VERSION)
    if tool.is_built():
        return tool.path
    go_mod_text = _module_file(REGISTRY_MODULE, REGISTRY_VERSION)
    go_line = re.search(r"^go (\S+)", go_mod_text, re.M)
    go_mod = (
        "module gitward.dev/registrybuild\n\n"
        f"go {go_line.group(1) if go_line else '1.26.0'}\n\n"
        f"require {REGISTRY_MODULE} {REGISTRY_VERSION}\n"
    )
    work = _wrapper(f"registry-{REGISTRY_VERSION}", go_mod, None, None)
    (work / "go.sum").unlink(missing_ok=True)
    out = work / "bin" / "registry"
    stamp = f"{REGISTRY_MODULE}/version.version={REGISTRY_VERSION}"
    package = f"{REGISTRY_MODULE}/cmd/registry"
    argv = ["go", "build", "-trimpath", "-ldflags", f"-s -w -X {stamp}", "-o", str(out), package]
    _run("registry", ["nice", "-n", "19", *argv], cwd=work)
    _install_atomically(out, tool)
    return tool.path


def module_dir(module: str, version: str) -> Path:
    """The unpacked source of a module version in the Go module cache (downloaded if missing)."""
    return Path(_module_download(module, version)["Dir"])


# A Job's pods succeed at once ("fast" pod-complete: Running -> Succeeded for pods a Job owns), so a
# Job completes. A pod labelled ``pod-container-running-failed.stage.kwok.x-k8s.io: "true"`` fails
# instead (kwok's published chaos stage, weight 10000 over pod-complete's 0), so a Job whose pod
# template carries the label fails: how the hook tests make a hook fail.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
    "kustomize/stage/pod/chaos/pod-container-running-failed.yaml",
)


def kwok_stages() -> str:
    """kwok's own published lifecycle stages (node ready + heartbeat, pod ready/complete/delete), read
    from the pinned kwok module: the kwok binary runs no stage unless it is given these."""
    module = module_dir("sigs.k8s.io/kwok", KWOK_VERSION)
    return "\n---\n".join((module / stage).read_text() for stage in KWOK_STAGES)


BUILDERS = {
    "etcd": build_etcd,
    "kwok": build_kwok,
    "kustomize": build_kustomize,
    "helm": build_helm,
    "sops": build_sops,
    "age-keygen": build_age_keygen,
    "dex": build_dex,
    "jsonnet": build_jsonnet,
}


def tool_path(name: str) -> Path:
    """Path of an already-built tool; raises a clear error if it has not been built."""
    version = {
        "etcd": ETCD_VERSION,
        "kwok": KWOK_VERSION,
        "kustomize": KUSTOMIZE_VERSION,
        "helm": HELM_VERSION,
        "sops": SOPS_VERSION,
        "age-keygen": AGE_VERSION,
        "jsonnet": JSONNET_VERSION,
        "dex": DEX_VERSION,
        "registry": REGISTRY_VERSION,
        ARGOCD_BINARY: ARGOCD_VERSION,
        **{n: v for n, (_, v) in FLUX_CONTROLLERS.items()},
    }.get(name, KUBERNETES_VERSION)
    tool = Tool(name, version)
    if not tool.is_built():
        raise ToolError(f"{name} {version} is not built yet; run `./dev tools`")
    return tool.path


def build_all(names: list[str] | None = None) -> dict[str, Path]:
    """Build every pinned tool (or the named ones); already-built ones cost nothing."""
    wanted = names or [
        *("etcd", "kubernetes", "kwok", "kustomize", "helm", "jsonnet", "dex", "sops", "age-keygen")
    ]
    built: dict[str, Path] = {}
    for name in wanted:
        if name == "kubernetes":
            built.update(build_kubernetes())
        elif name == "flux":
            built.update(build_flux())
        elif name == "argocd":
            built[name] = build_argocd()
        elif name == "registry":
            built[name] = build_registry()
        else:
            built[name] = BUILDERS[name]()
        print(f"tool ready: {name}", file=sys.stderr, flush=True)
    return built


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message is its own error text."""


def kubectl(
    kubeconfig: Path | str, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
) -> str:
    """Run the pinned kubectl against ``kubeconfig``; its stdout (raises KubectlError if ``check``)."""
    out = subprocess.run(
        [str(tool_path("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and out.returncode != 0:
        raise KubectlError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def bin_dir() -> Path:
    """A folder of symlinks to every built tool, to put first on PATH."""
    target = cache_root() / "bin"
    target.mkdir(parents=True, exist_ok=True)
    for name in ["etcd", "kwok", "kustomize", "helm", "jsonnet", "dex", "sops", "age-keygen", *KUBE_COMMANDS]:
        try:
            src = tool_path(name)
        except ToolError:
            continue
        link = target / name
        if link.is_symlink() or link.exists():
            if link.resolve() == src:
                continue
            link.unlink()
        link.symlink_to(src)
    return target


if __name__ == "__main__":
    try:
        build_all(sys.argv[1:] or None)
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(bin_dir())
