"""Flux Buckets read as anonymous s3:// sources of a Kustomization; what is not honoured is refused."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from gitward.model import Application, load_objects


def kustomization() -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "5m", "path": "./deploy", "prune": True,
                 "sourceRef": {"kind": "Bucket", "name": "fleet"}},
    }  # fmt: skip


def bucket(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "Bucket",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"bucketName": "fleet", "endpoint": "minio.example.com", "interval": "1m", **spec},
    }


def test_a_bucket_is_an_s3_source_read_as_it_is() -> None:
    config = load_objects([kustomization(), bucket(prefix="/clusters/")])
    assert config.errors == ()
    (app,) = config.applications
    source = app.spec.source
    assert (source.repo_url, source.revision, source.path) == (
        "s3://minio.example.com/fleet/clusters",
        "HEAD",
        "deploy",
    )
    assert source.is_bucket
    assert app.spec.sync_policy.interval == 60.0


def test_insecure_is_plain_http_to_a_loopback_endpoint_only() -> None:
    config = load_objects([kustomization(), bucket(endpoint="127.0.0.1:9000", insecure=True)])
    assert config.applications[0].spec.source.repo_url == "s3+http://127.0.0.1:9000/fleet"
    refused = load_objects([kustomization(), bucket(insecure=True)])
    assert "Bucket spec.insecure is supported only for a loopback endpoint" in refused.errors[0].message


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"secretRef": {"name": "creds"}}, "Bucket spec.secretRef is not supported: gitward reads buckets"),
        ({"region": "us-east-1"}, "Bucket spec.region is not supported"),
        ({"provider": "aws"}, "Bucket spec.provider 'aws' is not supported"),
        ({"timeout": "1m"}, "Bucket spec.timeout is not supported"),
        ({"ignore": "*.md"}, "Bucket spec.ignore is not supported"),
        ({"sts": {"provider": "ldap"}}, "Bucket spec.sts is not supported"),
        ({"endpoint": "https://minio.example.com"}, "Bucket spec.endpoint must be HOST or HOST:PORT"),
    ],
)  # fmt: skip
def test_what_gitward_does_not_honour_is_refused(spec: dict[str, Any], fragment: str) -> None:
    config = load_objects([kustomization(), bucket(**spec)])
    assert config.applications == ()
    assert fragment in config.errors[0].message


def test_a_bucket_source_has_no_revision_chart_or_signatures() -> None:
    base = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Application", "metadata": {"name": "b"}}
    for source, fragment in [
        ({"repoURL": "s3://minio.example.com/fleet", "revision": "v1"}, "a bucket has no revisions"),
        ({"repoURL": "s3://minio.example.com/fleet", "chart": "web"}, "a chart is not read from a bucket"),
        ({"repoURL": "s3+http://minio.example.com/fleet"}, "s3+http:// (plain HTTP) is for a loopback"),
        ({"repoURL": "s3://minio.example.com"}, "a bucket URL is s3://HOST[:PORT]/BUCKET"),
    ]:
        with pytest.raises(pydantic.ValidationError) as info:
            Application.model_validate({**base, "spec": {"source": source}})
        assert fragment in str(info.value)
