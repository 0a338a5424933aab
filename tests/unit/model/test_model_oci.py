"""OCI sources in the model: an oci:// chart or artifact is accepted only in the shapes that are fetched,
and a Flux OCIRepository is read as an artifact source or refused field by field."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
import yaml

from gitward.model import Application, load_objects
from gitward.model.foreign import describe_foreign

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "ab" * 32


def _app(**source: Any) -> Application:
    return Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "app"},
            "spec": {"source": source},
        }
    )


def test_oci_chart_and_artifact_sources() -> None:
    chart = _app(repoURL="oci://ghcr.io/org/charts", chart="podinfo", revision=">=6.0.0 <7")
    assert chart.spec.source.is_oci
    assert not chart.spec.source.is_oci_artifact
    assert chart.spec.source.render_hint == "helm"
    artifact = _app(repoURL="oci://127.0.0.1:5000/manifests/web", revision=DIGEST, path="apps/prod")
    assert artifact.spec.source.is_oci_artifact
    assert artifact.spec.source.path == "apps/prod"
    assert _app(repoURL="oci://ghcr.io/org/web").spec.source.revision == "HEAD"  # the tag latest
    assert not _app(repoURL="https://git.example.com/org/apps.git").spec.source.is_oci


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"repoURL": "oci://ghcr.io"}, "OCI repository path"),
        ({"repoURL": "oci://ghcr.io/Org/Charts"}, "OCI repository path"),
        ({"repoURL": "oci://ghcr.io/org/web?tag=v1"}, "no query"),
        ({"repoURL": "oci://ghcr.io/org/charts", "chart": "PodInfo"}, "chart in an OCI registry"),
        ({"repoURL": "oci://ghcr.io/org/web", "revision": "sha256:1234"}, "not a valid digest"),
        (
            {"repoURL": "oci://ghcr.io/org/web", "verify": {"keys": {"gpgKeyFiles": ["/k.asc"]}}},
            "an OCI artifact has none",
        ),
    ],
)
def test_oci_shapes_that_are_not_fetched_are_refused(source: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        _app(**source)


KUSTOMIZATION = yaml.safe_load(
    """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  path: ./deploy
  prune: true
  sourceRef: {kind: OCIRepository, name: web-manifests}
"""
)
OCI_REPOSITORY = yaml.safe_load(
    """
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: web-manifests, namespace: flux-system}
spec:
  url: oci://ghcr.io/org/web-manifests
  ref: {tag: v1.2.0}
  interval: 1m
"""
)


def _load(kustomization: dict[str, Any] | None = None, repository: dict[str, Any] | None = None) -> Any:
    k = yaml.safe_load(yaml.safe_dump(KUSTOMIZATION))
    r = yaml.safe_load(yaml.safe_dump(OCI_REPOSITORY))
    k["spec"].update(kustomization or {})
    r["spec"].update(repository or {})
    return load_objects([k, r])


def test_flux_oci_repository_is_read_as_an_artifact_source() -> None:
    config = _load()
    assert config.errors == ()
    [app] = config.applications
    source = app.spec.source
    assert (source.repo_url, source.revision, source.path) == (
        "oci://ghcr.io/org/web-manifests",
        "v1.2.0",
        "deploy",
    )
    assert source.is_oci_artifact
    assert app.spec.sync_policy.interval == 60  # the shorter of the two intervals


@pytest.mark.parametrize(
    ("ref", "revision"),
    [
        ({"digest": DIGEST, "semver": ">=1", "tag": "v1"}, DIGEST),
        ({"semver": ">=1.0.0 <2", "tag": "v1"}, ">=1.0.0 <2"),
        ({"tag": "v1"}, "v1"),
        ({}, "latest"),
    ],
)
def test_flux_oci_ref_precedence(ref: dict[str, str], revision: str) -> None:
    r = yaml.safe_load(yaml.safe_dump(OCI_REPOSITORY))
    r["spec"]["ref"] = ref
    [app] = load_objects([KUSTOMIZATION, r]).applications
    assert app.spec.source.revision == revision


def test_flux_oci_accepted_settings_that_change_nothing() -> None:
    config = _load(
        repository={
            "url": "oci://127.0.0.1:5000/web",
            "insecure": True,
            "provider": "generic",
            "layerSelector": {
                "mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip",
                "operation": "extract",
            },
            "suspend": True,
        }
    )
    assert config.errors == ()
    assert config.applications[0].spec.suspend is True


@pytest.mark.parametrize(
    ("repository", "fragment"),
    [
        (
            {"secretRef": {"name": "creds"}},
            "OCIRepository spec.secretRef is not supported: declare a Repository",
        ),
        ({"timeout": "60s"}, "OCIRepository spec.timeout is not supported"),
        ({"verify": {"provider": "cosign"}}, "OCIRepository spec.verify is not supported"),
        ({"certSecretRef": {"name": "ca"}}, "spec.certSecretRef is not supported"),
        ({"serviceAccountName": "sa"}, "spec.serviceAccountName is not supported"),
        ({"ignore": "*.md"}, "spec.ignore is not supported"),
        ({"provider": "aws"}, "provider 'aws' is not supported"),
        ({"insecure": True}, "insecure is supported only for a loopback registry"),
        ({"ref": {"semverFilter": ".*-rc"}}, "spec.ref.semverFilter is not supported"),
        ({"layerSelector": {"mediaType": "application/x-other"}}, "layerSelector.mediaType"),
        ({"layerSelector": {"operation": "copy"}}, "layerSelector.operation 'copy'"),
        ({"url": "https://ghcr.io/org/web"}, "must be an oci:// URL"),
    ],
)
def test_flux_oci_fields_gitward_cannot_honour_are_refused(repository: dict[str, Any], fragment: str) -> None:
    config = _load(repository=repository)
    assert config.applications == ()
    assert [e.name for e in config.errors] == ["web"]
    assert fragment in config.errors[0].message


def test_kustomization_names_an_oci_repository_that_is_missing() -> None:
    config = load_objects([KUSTOMIZATION])
    assert "OCIRepository flux-system/web-manifests referenced by spec.sourceRef is not defined" in (
        config.errors[0].message
    )
    git = yaml.safe_load(yaml.safe_dump(OCI_REPOSITORY))
    git["kind"] = "GitRepository"  # same name, other kind: not the source the Kustomization names
    assert load_objects([KUSTOMIZATION, git]).applications == ()


def test_oci_repository_in_a_render_says_what_to_write_instead() -> None:
    described = describe_foreign("source.toolkit.fluxcd.io", "OCIRepository")
    assert described is not None
    assert "oci:// source" in described
