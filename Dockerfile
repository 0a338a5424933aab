# syntax=docker/dockerfile:1
# gitward's container image: `docker build -t gitward:0.1.0 .` (or `podman build`, `buildah bud`).
#
# Three stages:
#   tools   -- helm, kustomize, jsonnet and sops built from source at the versions devtools/toolchain.py pins
#              (same packages, same -ldflags, static: CGO_ENABLED=0);
#   python  -- gitward and its dependencies installed from this checkout into a venv (/opt/gitward);
#   final   -- Debian bookworm slim with what `gitward run` needs at run time (README "Install": git,
#              bwrap, helm, kustomize, jsonnet, sops; plus openssh-client for SSH remotes and gpg for
#              `git verify-commit`), running as user 65532.
#
# Read-only root filesystem: nothing is written outside /var/lib/gitward (the state volume: the
# Deployment of `gitward install` mounts an emptyDir there and passes
# `--state /var/lib/gitward/state/state.db`) and /tmp (another emptyDir). HOME and the XDG folders
# point into the state volume. tests/unit/devtools/test_dockerfile.py checks that the versions below equal
# devtools/toolchain.py's and that user, entrypoint and paths match src/gitward/install/.
# Without a registry, `./dev image` builds the same image from a debootstrap rootfs with buildah.

ARG DEBIAN=bookworm

FROM golang:1.26-${DEBIAN} AS tools
ARG HELM_VERSION=v3.22.0
ARG KUSTOMIZE_VERSION=v5.8.1
ARG SOPS_VERSION=v3.13.3
ARG JSONNET_VERSION=v0.22.0
# The Kubernetes minor helm reports as its default (`.Capabilities.KubeVersion`): KUBERNETES_VERSION's.
ARG KUBERNETES_MINOR=36
ENV CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN=/out GOTOOLCHAIN=local
RUN go install -ldflags "-s -w \
      -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} \
      -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${KUBERNETES_MINOR}" \
      helm.sh/helm/v3/cmd/helm@${HELM_VERSION} \
 && go install -ldflags "-s -w" sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION} \
 && go install -ldflags "-s -w" github.com/getsops/sops/v3/cmd/sops@${SOPS_VERSION} \
 && go install -ldflags "-s -w" github.com/google/go-jsonnet/cmd/jsonnet@${JSONNET_VERSION} \
 && /out/helm version --short && /out/kustomize version && /out/sops --version --disable-version-check \
 && /out/jsonnet --version

FROM debian:${DEBIAN}-slim AS python
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN python3 -m venv /opt/gitward \
 && /opt/gitward/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/gitward/bin/pip install --no-cache-dir /src \
 && /opt/gitward/bin/pip uninstall -y pip \
 && /opt/gitward/bin/gitward version

FROM debian:${DEBIAN}-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
# python3: the venv's interpreter (the same Debian python3 the python stage used).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 git openssh-client bubblewrap gpg ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && echo "gitward:x:65532:65532:gitward:/var/lib/gitward/home:/usr/sbin/nologin" >> /etc/passwd \
 && echo "gitward:x:65532:" >> /etc/group \
 && mkdir -p /var/lib/gitward/home /var/lib/gitward/state \
 && chown -R 65532:65532 /var/lib/gitward
COPY --from=tools /out/helm /out/kustomize /out/sops /out/jsonnet /usr/local/bin/
COPY --from=python /opt/gitward /opt/gitward
ENV PATH=/opt/gitward/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/var/lib/gitward/home \
    XDG_CONFIG_HOME=/var/lib/gitward/home/.config \
    XDG_CACHE_HOME=/var/lib/gitward/home/.cache \
    XDG_DATA_HOME=/var/lib/gitward/home/.local/share \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
LABEL org.opencontainers.image.title="gitward" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
VOLUME ["/var/lib/gitward"]
WORKDIR /var/lib/gitward
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["gitward"]
CMD ["run", "--from-cluster", "--listen", "0.0.0.0:8080", "--state", "/var/lib/gitward/state/state.db"]
