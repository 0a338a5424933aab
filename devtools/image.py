"""``./dev image``: build gitward's container image without Docker and without a container registry.

The ``Dockerfile`` is the recipe for a registry-connected machine. Here no base image can be pulled,
so the same image is assembled from parts these machines can reach:

- a minimal Debian rootfs made by ``debootstrap --variant=minbase`` from the Debian mirror, with the
  run-time packages of the Dockerfile's final stage included, cached as a tarball under
  ``~/.cache/gitward/image/`` by a key of suite, mirror and packages (a second build reuses it);
- helm, kustomize, jsonnet and sops from the toolchain cache (``toolchain``: the pinned versions,
  built the way the Dockerfile's ``tools`` stage builds them);
- gitward and its dependencies as wheels made here (pip, from this checkout and PyPI), installed
  offline into ``/opt/gitward`` inside the image (``buildah run --isolation chroot``).

buildah (vfs storage, chroot isolation: no daemon, no overlay, no extra namespaces) commits it as
``localhost/gitward:<version>`` and writes ``dist/gitward-<version>.oci.tar``
(``podman load -i``, ``skopeo copy oci-archive:...``). ``--check`` then runs the smoke check: each
program answers inside the image as user 65532, and ``gitward`` works with the root filesystem
mounted read-only and only the state volume and /tmp writable, as the Deployment runs it.

buildah and debootstrap are installed with apt only here (``devtools/image-packages.txt``, which
``./dev setup`` does not read).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gitward
from devtools import toolchain
from gitward.install.manifests import PORT, STATE_DIR

ROOT = Path(__file__).resolve().parent.parent
SUITE = "bookworm"
MIRROR = os.environ.get("GITWARD_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# The Dockerfile's final stage installs the same (python3-venv only makes the venv).
RUN_PACKAGES = ("python3", "python3-venv", "git", "openssh-client", "bubblewrap", "gpg", "ca-certificates")
USER = "65532:65532"
VENV = "/opt/gitward"
HOME = f"{STATE_DIR}/home"
ENV = {
    "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": HOME,
    "XDG_CONFIG_HOME": f"{HOME}/.config",
    "XDG_CACHE_HOME": f"{HOME}/.cache",
    "XDG_DATA_HOME": f"{HOME}/.local/share",
    "TMPDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LANG": "C.UTF-8",
}
CMD = ["run", "--from-cluster", "--listen", f"0.0.0.0:{PORT}", "--state", f"{STATE_DIR}/state/state.db"]
# What the smoke check runs inside the image, as the image's user.
SMOKE = (
    ["gitward", "version"],
    ["helm", "version", "--short"],
    ["kustomize", "version"],
    ["sops", "--version", "--disable-version-check"],
    ["jsonnet", "--version"],
    ["git", "--version"],
    ["sh", "-c", "ssh -V 2>&1"],  # ssh prints its version on stderr
    ["bwrap", "--version"],
)


class ImageError(RuntimeError):
    """A step failed; the message names it and the log to read."""


def image_dir() -> Path:
    return toolchain.cache_root() / "image"


def log_path() -> Path:
    logs = toolchain.cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / "image.log"


def tag() -> str:
    return f"localhost/gitward:{gitward.__version__}"


def archive_path() -> Path:
    return ROOT / "dist" / f"gitward-{gitward.__version__}.oci.tar"


def rootfs_key() -> str:
    text = "\n".join([SUITE, "minbase", MIRROR, *sorted(RUN_PACKAGES)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def buildah_argv(*args: str) -> list[str]:
    """buildah with vfs storage: overlay-on-overlay is refused inside containers, vfs works anywhere."""
    return ["buildah", "--storage-driver", os.environ.get("GITWARD_BUILDAH_STORAGE", "vfs"), *args]


def _run(step: str, argv: list[str], *, capture: bool = False, env: dict[str, str] | None = None) -> str:
    log = log_path()
    with log.open("a") as out:
        out.write(f"\n$ {shlex.join(argv)}\n")
        out.flush()
        result = subprocess.run(
            ["nice", "-n", "10", *argv],
            stdout=subprocess.PIPE if capture else out,
            stderr=out,
            text=True,
            env={**os.environ, "BUILDAH_ISOLATION": "chroot", **(env or {})},
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text().splitlines()[-5:]
        raise ImageError(
            f"{step}: `{shlex.join(argv[:4])}` failed (exit {result.returncode}); read {log}\n  "
            + "\n  ".join(tail)
        )
    return (result.stdout or "").strip()


def _say(text: str) -> None:
    print(f"\033[1;34m==>\033[0m {text}", file=sys.stderr, flush=True)


def ensure_programs() -> None:
    """buildah and debootstrap from Debian, only when an image is asked for."""
    lines = (ROOT / "devtools" / "image-packages.txt").read_text().splitlines()
    wanted = [w for line in lines if not line.lstrip().startswith("#") for w in line.split()]
    missing = [p for p in wanted if shutil.which(p) is None]
    if not missing:
        return
    _say(f"installing Debian packages: {' '.join(missing)}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    _run("apt-get update", [*sudo, "apt-get", "update", "-q"])
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    _run(
        "apt-get install",
        [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        env=env,
    )


def rootfs() -> Path:
    """The cached minbase rootfs tarball (debootstrap needs root: it makes device nodes and chowns)."""
    tarball = image_dir() / f"rootfs-{SUITE}-{rootfs_key()}.tar"
    if tarball.is_file():
        return tarball
    if os.geteuid() != 0:
        raise ImageError("debootstrap needs root: run `sudo ./dev image` once (the rootfs is cached)")
    image_dir().mkdir(parents=True, exist_ok=True)
    target = image_dir() / f"rootfs-{rootfs_key()}.tmp"
    shutil.rmtree(target, ignore_errors=True)
    _say(f"debootstrap {SUITE} (minbase + {', '.join(RUN_PACKAGES)}) from {MIRROR}")
    include = ",".join(RUN_PACKAGES)
    _run(
        "debootstrap",
        ["debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(target), MIRROR],
    )
    # What an image does not need: package lists, caches, docs and manuals.
    for sub in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/info"):
        path = target / sub
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    partial = tarball.with_suffix(".tar.tmp")
    _run("tar rootfs", ["tar", "--numeric-owner", "--xattrs", "-cf", str(partial), "-C", str(target), "."])
    partial.replace(tarball)
    shutil.rmtree(target)
    return tarball


def wheels(out: Path) -> Path:
    """Wheels of this checkout and of all its dependencies, made on this machine (Debian bookworm's
    Python, the image's own): the image installs them with ``--no-index``, so it needs no network and
    no trust of this machine's TLS set-up (a proxy's CA stays out of the image)."""
    py = ROOT / ".venv" / "bin" / "python"
    argv = [str(py if py.exists() else sys.executable), "-m", "pip", "wheel", "-q", "-w", str(out), str(ROOT)]
    _run("pip wheel", argv)
    (found,) = out.glob("gitward-*.whl")
    return found


def revision() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "unknown"


def build() -> str:
    ensure_programs()
    tools = {
        "helm": toolchain.build_helm(),
        "kustomize": toolchain.build_kustomize(),
        "sops": toolchain.build_sops(),
        "jsonnet": toolchain.build_jsonnet(),
    }
    tarball = rootfs()
    ctr = _run(
        "buildah from",
        buildah_argv("from", "--name", f"gitward-build-{os.getpid()}", "scratch"),
        capture=True,
    )
    try:
        mount = Path(_run("buildah mount", buildah_argv("mount", ctr), capture=True))
        _say(f"unpacking the rootfs into {ctr}")
        _run("unpack rootfs", ["tar", "--numeric-owner", "--xattrs", "-xpf", str(tarball), "-C", str(mount)])
        for name, path in tools.items():
            _run(
                f"copy {name}",
                buildah_argv("copy", "--chmod", "0755", ctr, str(path), f"/usr/local/bin/{name}"),
            )
        with tempfile.TemporaryDirectory(prefix="gitward-wheels-") as tmp:
            whl = wheels(Path(tmp))
            _run("copy wheels", buildah_argv("copy", ctr, tmp, "/tmp/wheels"))
        install = (
            f"set -e; python3 -m venv {VENV};"
            f" {VENV}/bin/pip install -q --no-cache-dir --no-index --find-links /tmp/wheels"
            f" /tmp/wheels/{whl.name};"
            f" {VENV}/bin/pip uninstall -q -y pip;"
            " rm -rf /tmp/wheels;"
            " echo 'gitward:x:65532:65532:gitward:/var/lib/gitward/home:/usr/sbin/nologin' >> /etc/passwd;"
            " echo 'gitward:x:65532:' >> /etc/group;"
            f" mkdir -p {HOME} {STATE_DIR}/state; chown -R 65532:65532 {STATE_DIR};"
            f" {VENV}/bin/gitward version"
        )
        _say("installing gitward and its dependencies into the image")
        _run("install gitward", buildah_argv("run", "--isolation", "chroot", ctr, "--", "sh", "-c", install))
        config = [
            "config",
            "--user",
            USER,
            "--workingdir",
            STATE_DIR,
            "--volume",
            STATE_DIR,
            "--port",
            str(PORT),
        ]
        config += ["--entrypoint", '["gitward"]', "--cmd", shlex.join(CMD)]
        for key, value in ENV.items():
            config += ["--env", f"{key}={value}"]
        labels = {
            "org.opencontainers.image.title": "gitward",
            "org.opencontainers.image.version": gitward.__version__,
            "org.opencontainers.image.revision": revision(),
            "org.opencontainers.image.licenses": "Apache-2.0",
        }
        for key, value in labels.items():
            config += ["--label", f"{key}={value}"]
        _run("buildah config", buildah_argv(*config, ctr))
        _say(f"committing {tag()}")
        _run("buildah commit", buildah_argv("commit", "-q", "--rm", ctr, tag()))
        ctr = ""
    finally:
        if ctr:
            subprocess.run(buildah_argv("rm", ctr), capture_output=True, check=False)
    archive = archive_path()
    archive.parent.mkdir(exist_ok=True)
    archive.unlink(missing_ok=True)
    _run("buildah push", buildah_argv("push", "-q", tag(), f"oci-archive:{archive}:{tag()}"))
    return tag()


def _chroot_readonly(mount: Path, argv: list[str]) -> list[str]:
    """``argv`` in the image's rootfs mounted read-only, fresh tmpfs on the state volume and /tmp, as
    user 65532 with the image's environment: how the Deployment runs it."""
    env = " ".join(shlex.quote(f"{k}={v}") for k, v in ENV.items())
    m = shlex.quote(str(mount))
    script = (
        f"set -e; mount --bind {m} {m}; mount -o remount,bind,ro {m};"
        f" mount -t tmpfs -o mode=0777 tmpfs {m}{STATE_DIR}; mount -t tmpfs -o mode=1777 tmpfs {m}/tmp;"
        f" mount -t proc proc {m}/proc;"
        f" exec chroot --userspec={USER} {m} /usr/bin/env -i {env} {shlex.join(argv)}"
    )
    return ["unshare", "--mount", "--pid", "--fork", "sh", "-c", script]


def check() -> list[str]:
    """The smoke check; returns the lines to show."""
    ctr = _run(
        "buildah from", buildah_argv("from", "--name", f"gitward-check-{os.getpid()}", tag()), capture=True
    )
    lines: list[str] = []
    try:
        for argv in SMOKE:
            out = _run(
                " ".join(argv),
                buildah_argv("run", "--isolation", "chroot", "--user", USER, ctr, "--", *argv),
                capture=True,
            )
            lines.append(f"$ {shlex.join(argv)}  (as {USER})\n{out}")
        whoami = _run("id", buildah_argv("run", "--isolation", "chroot", ctr, "--", "id"), capture=True)
        lines.append(f"$ id  (the image's default user)\n{whoami}")
        writable = _run(
            "find writable",
            buildah_argv(
                "run",
                "--isolation",
                "chroot",
                "--user",
                USER,
                ctr,
                "--",
                "sh",
                "-c",
                "find / -xdev -writable -not -path '/proc/*' -not -path '/dev/*' 2>/dev/null | sort",
            ),
            capture=True,
        )
        lines.append(f"$ find / -xdev -writable  (as {USER})\n{writable}")
        mount = Path(_run("buildah mount", buildah_argv("mount", ctr), capture=True))
        for argv in (
            ["gitward", "version"],
            ["gitward", "run", "--help"],
            ["helm", "template", "--help"],
            ["kustomize", "version"],
        ):
            out = _run(f"read-only {argv[0]}", _chroot_readonly(mount, argv), capture=True)
            first = out.splitlines()[0] if out.splitlines() else ""
            lines.append(f"$ {shlex.join(argv)}  (read-only root, as {USER})\n{first.strip()}  [ok]")
    finally:
        subprocess.run(buildah_argv("rm", ctr), capture_output=True, check=False)
    size = _run("buildah images", buildah_argv("images", "--format", "{{.Size}}", tag()), capture=True)
    lines.append(
        f"image {tag()}: {size}; archive {archive_path()}: {archive_path().stat().st_size / 1e6:.0f} MB"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev image", description="build gitward's image with buildah")
    parser.add_argument("--check", action="store_true", help="only the smoke check of the built image")
    parser.add_argument("--no-check", action="store_true", help="build without the smoke check")
    args = parser.parse_args(argv)
    try:
        if not args.check:
            started = time.monotonic()
            built = build()
            _say(f"built {built} in {time.monotonic() - started:.0f}s; {archive_path()}")
        if not args.no_check:
            for line in check():
                print(line)
    except (ImageError, toolchain.ToolError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
