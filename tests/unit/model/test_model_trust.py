"""Trust fields at load: signature keys, decryption keys, and Flux ``verify``/``decryption`` field by field.

Every accepted field is acted on (``reconcile/trust.py`` reads it); every field gitward cannot honour
is refused with a message naming it.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitward.model import load_objects

PUBLIC = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQ==\n-----END PGP PUBLIC KEY BLOCK-----\n"
KUSTOMIZATION = {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
    "kind": "Kustomization",
    "metadata": {"name": "apps", "namespace": "flux-system"},
    "spec": {
        "interval": "5m",
        "path": "./apps",
        "prune": True,
        "sourceRef": {"kind": "GitRepository", "name": "fleet"},
    },
}
REPOSITORY = {
    "apiVersion": "source.toolkit.fluxcd.io/v1",
    "kind": "GitRepository",
    "metadata": {"name": "fleet", "namespace": "flux-system"},
    "spec": {"url": "https://git.example.com/fleet.git", "ref": {"branch": "main"}},
}


def _flux(kustomization: dict[str, Any] | None = None, repository: dict[str, Any] | None = None) -> Any:
    k = yaml.safe_load(yaml.safe_dump(KUSTOMIZATION))
    k["spec"].update(kustomization or {})
    r = yaml.safe_load(yaml.safe_dump(REPOSITORY))
    r["spec"].update(repository or {})
    return load_objects([k, r])


def _project(spec: dict[str, Any]) -> Any:
    return load_objects(
        [{"apiVersion": "gitward.dev/v1alpha1", "kind": "Project", "metadata": {"name": "p"}, "spec": spec}]
    )


def test_flux_verify_and_decryption_become_the_apps_source_fields() -> None:
    config = _flux(
        {"decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}}},
        {"ref": {"tag": "v1.2.0"}, "verify": {"mode": "TagAndHEAD", "secretRef": {"name": "pgp-public"}}},
    )
    assert config.errors == ()
    source = config.applications[0].spec.source
    assert source.verify is not None
    assert source.verify.mode == "TagAndHEAD"
    assert source.verify.keys.secret_ref is not None
    assert (source.verify.keys.secret_ref.namespace, source.verify.keys.secret_ref.name) == (
        "flux-system",
        "pgp-public",
    )
    assert source.decryption is not None
    assert source.decryption.secret_ref is not None
    assert source.decryption.secret_ref.name == "sops-keys"
    legacy = _flux(repository={"verify": {"mode": "head", "secretRef": {"name": "k"}}})
    assert legacy.applications[0].spec.source.verify.mode == "HEAD"


@pytest.mark.parametrize(
    ("kustomization", "repository", "fragment"),
    [
        ({"decryption": {"provider": "sops"}}, {}, "spec.decryption.secretRef is required"),
        ({"decryption": {"provider": "vault", "secretRef": {"name": "k"}}}, {}, "spec.decryption.provider"),
        (
            {"decryption": {"provider": "sops", "secretRef": {"name": "k"}, "serviceAccountName": "x"}},
            {},
            "serviceAccountName",
        ),
        ({}, {"verify": {"mode": "HEAD"}}, "spec.verify.secretRef is required"),
        (
            {},
            {"verify": {"mode": "Tag", "secretRef": {"name": "k"}}},
            "needs spec.ref.tag or spec.ref.semver",
        ),
        ({}, {"verify": {"mode": "Everything", "secretRef": {"name": "k"}}}, "spec.verify.mode"),
        ({}, {"verify": {"mode": "HEAD", "secretRef": {"name": "k", "namespace": "x"}}}, "namespace"),
    ],
)
def test_flux_trust_fields_gitward_cannot_honour_are_refused_by_name(
    kustomization: dict[str, Any], repository: dict[str, Any], fragment: str
) -> None:
    config = _flux(kustomization, repository)
    assert config.applications == ()
    assert fragment in config.errors[0].message


def test_signature_keys_refuse_private_keys_and_empty_lists() -> None:
    good = _project({"signatureKeys": {"gpgKeys": [PUBLIC], "sshKeys": ["ssh-ed25519 AAAAC3Nza alice"]}})
    assert good.errors == ()
    assert good.projects[0].spec.signature_keys is not None
    private = PUBLIC.replace("PUBLIC", "PRIVATE")
    for spec, fragment in [
        ({"signatureKeys": {"gpgKeys": [private]}}, "private key"),
        ({"signatureKeys": {"sshKeys": ["-----BEGIN OPENSSH PRIVATE KEY-----"]}}, "private key"),
        ({"signatureKeys": {"sshKeys": ["not a key"]}}, "one public key line"),
        ({"signatureKeys": {}}, "lists no key"),
        ({"signatureKeys": {"gpgKeyFile": "/x"}}, "gpgKeyFile"),
    ]:
        config = _project(spec)
        assert config.projects == ()
        assert fragment in config.errors[0].message


def test_decryption_needs_keys_and_a_plain_or_kustomize_source() -> None:
    def app(source: dict[str, Any]) -> Any:
        spec = {"source": {"repoURL": "https://git.example.com/a.git", **source}}
        return load_objects(
            [
                {
                    "apiVersion": "gitward.dev/v1alpha1",
                    "kind": "Application",
                    "metadata": {"name": "a"},
                    "spec": spec,
                }
            ]
        )

    assert app({"decryption": {"ageKeyFiles": ["/etc/gitward/age.txt"]}}).errors == ()
    assert "names no key" in app({"decryption": {}}).errors[0].message
    assert "not to Helm charts" in app({"helm": {}, "decryption": {"ageKeyFiles": ["/k"]}}).errors[0].message
    chart = {"chart": "c", "verify": {"keys": {"gpgKeys": [PUBLIC]}}}
    assert "Helm repository has none" in app(chart).errors[0].message
