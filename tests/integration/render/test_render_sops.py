"""SOPS files decrypted by the render: fixtures encrypted by the real ``sops``, decrypted by it in the jail.

Plain folders and kustomizations (a resource, a patch, and ``secretGenerator`` files in the YAML,
JSON, dotenv and binary formats); age and PGP keys; and the refusals: no keys, keys that are not
recipients, a file changed after it was encrypted (MAC mismatch), ciphertext whose sops metadata
was stripped, and a Helm chart whose output still holds ciphertext. No plaintext value appears in
any refusal.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.toolchain import tool_path
from tests.integration.trust_fixtures import AgeKey, GpgKey, sops_encrypt

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderTools, render
from gitward.render.params import DecryptionParams

pytestmark = pytest.mark.integration

PASSWORD = "pw-8c1f2a-plaintext"


@pytest.fixture(scope="module")
def tools() -> RenderTools:
    return RenderTools(kustomize=tool_path("kustomize"), helm=tool_path("helm"), sops=tool_path("sops"))


@pytest.fixture(scope="module")
def age(tmp_path_factory: pytest.TempPathFactory) -> AgeKey:
    return AgeKey.create(tmp_path_factory.mktemp("age") / "key.txt")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> AgeKey:
    return AgeKey.create(tmp_path_factory.mktemp("age") / "other.txt")


@pytest.fixture(scope="module")
def pgp() -> Iterator[GpgKey]:
    key = GpgKey.create("sops")
    yield key
    key.close()


def _secret(name: str, value: str = PASSWORD) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"password": value},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _keys(*, age: AgeKey | None = None, pgp_file: Path | None = None) -> DecryptionParams:
    return DecryptionParams(
        age_key_files=(str(age.identity),) if age else (),
        pgp_key_files=(str(pgp_file),) if pgp_file else (),
        keys_digest="test",
    )


async def _render(
    root: Path, app: str, tools: RenderTools, keys: DecryptionParams | None
) -> list[dict[str, Any]]:
    params = RenderParams(decryption=keys)
    result = await render(
        root / app, root=root, params=params, tools=tools, kube_version="1.36", api_versions=[]
    )
    return list(result.manifests)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


async def test_plain_folder_with_age_and_pgp_encrypted_secrets_renders_plaintext(
    tmp_path: Path, tools: RenderTools, age: AgeKey, pgp: GpgKey
) -> None:
    pgp_file = tmp_path / "keys" / "sops.asc"
    _write(tmp_path / "keys", {"sops.asc": pgp.private()})
    _write(tmp_path / "repo", {
        "app/a.yaml": sops_encrypt(_secret("by-age"), name="a.yaml", age=age),
        "app/b.json": sops_encrypt(json.dumps(yaml.safe_load(_secret("by-pgp"))), name="b.json", pgp=pgp),
        "app/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
    })  # fmt: skip
    manifests = await _render(tmp_path / "repo", "app", tools, _keys(age=age, pgp_file=pgp_file))
    assert {m["metadata"]["name"]: m.get("stringData") for m in manifests} == {
        "by-age": {"password": PASSWORD},
        "by-pgp": {"password": PASSWORD},
        "plain": None,
    }
    assert not any("sops" in m for m in manifests)


async def test_kustomize_resources_patches_and_generator_files_are_decrypted(
    tmp_path: Path, tools: RenderTools, age: AgeKey
) -> None:
    patch = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"user": "admin-u"},
    }
    _write(tmp_path / "repo", {
        "base/secret.yaml": sops_encrypt(_secret("db"), name="secret.yaml", age=age),
        "base/kustomization.yaml": "resources: [secret.yaml]\n",
        "app/patch.yaml": sops_encrypt(yaml.safe_dump(patch), name="patch.yaml", age=age),
        "app/creds.env": sops_encrypt(f"TOKEN={PASSWORD}\n", name="creds.env", age=age),
        "app/conf.json": sops_encrypt('{"key": "json-value-1"}', name="conf.json", age=age),
        "app/blob.bin": sops_encrypt(b"binary-value-2", name="blob.bin", age=age),
        "app/kustomization.yaml": yaml.safe_dump({
            "resources": ["../base"],
            "namespace": "team",
            "patches": [{"path": "patch.yaml"}],
            "secretGenerator": [{
                "name": "gen", "envs": ["creds.env"], "files": ["conf.json", "blob=blob.bin"],
                "options": {"disableNameSuffixHash": True},
            }],
        }),
    })  # fmt: skip
    manifests = {
        m["metadata"]["name"]: m for m in await _render(tmp_path / "repo", "app", tools, _keys(age=age))
    }
    assert manifests["db"]["metadata"]["namespace"] == "team"
    assert manifests["db"]["stringData"] == {"password": PASSWORD, "user": "admin-u"}
    data = {k: base64.b64decode(v) for k, v in manifests["gen"]["data"].items()}
    assert data["TOKEN"] == PASSWORD.encode()
    assert json.loads(data["conf.json"]) == {"key": "json-value-1"}
    assert data["blob"] == b"binary-value-2"


@pytest.mark.parametrize("engine", ["plain", "kustomize"])
async def test_without_keys_or_with_keys_that_are_no_recipient_nothing_renders(
    tmp_path: Path, tools: RenderTools, age: AgeKey, stranger: AgeKey, engine: str
) -> None:
    files: dict[str, str | bytes] = {"app/s.yaml": sops_encrypt(_secret("db"), name="s.yaml", age=age)}
    if engine == "kustomize":
        files["app/kustomization.yaml"] = "resources: [s.yaml]\n"
    _write(tmp_path / "repo", files)
    with pytest.raises(RenderError) as none:
        await _render(tmp_path / "repo", "app", tools, None)
    assert none.value.reason == "NoDecryptionKeys"
    assert "app/s.yaml is encrypted with SOPS" in str(none.value)
    with pytest.raises(RenderError) as wrong:
        await _render(tmp_path / "repo", "app", tools, _keys(age=stranger))
    assert wrong.value.reason == "DecryptionFailed"
    assert age.recipient in str(wrong.value)  # names who can decrypt it
    assert PASSWORD not in str(none.value) + str(wrong.value)


async def test_a_file_changed_after_encryption_is_refused(
    tmp_path: Path, tools: RenderTools, age: AgeKey
) -> None:
    encrypted = sops_encrypt(_secret("db"), name="s.yaml", age=age).decode()
    renamed = encrypted.replace("name: db", "name: admin-db")  # an unencrypted value: the MAC covers it
    ciphertexts = [line.split(": ", 1)[1] for line in encrypted.splitlines() if "password: ENC[" in line]
    other = sops_encrypt(_secret("db", "another-value"), name="s.yaml", age=age).decode()
    swapped = other.replace(
        next(line.split(": ", 1)[1] for line in other.splitlines() if "password: ENC[" in line),
        ciphertexts[0],
    )  # a value moved in from another file encrypted for the same key
    for tampered in (renamed, swapped):
        _write(tmp_path / "repo", {"app/s.yaml": tampered})
        with pytest.raises(RenderError) as refused:
            await _render(tmp_path / "repo", "app", tools, _keys(age=age))
        assert refused.value.reason in ("DecryptionIntegrity", "DecryptionFailed")
        assert "app/s.yaml" in str(refused.value)
        assert PASSWORD not in str(refused.value)
    _write(tmp_path / "repo", {"app/s.yaml": renamed})
    with pytest.raises(RenderError, match="integrity check"):
        await _render(tmp_path / "repo", "app", tools, _keys(age=age))


async def test_ciphertext_without_sops_metadata_and_encrypted_helm_output_are_never_rendered(
    tmp_path: Path, tools: RenderTools, age: AgeKey
) -> None:
    encrypted = sops_encrypt(_secret("db"), name="s.yaml", age=age).decode()
    stripped = encrypted.split("\nsops:")[0] + "\n"
    _write(tmp_path / "repo", {
        "app/s.yaml": stripped,
        "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        "chart/templates/s.yaml": encrypted.replace("{{", ""),
    })  # fmt: skip
    with pytest.raises(RenderError, match=r"app/s\.yaml"):
        await _render(tmp_path / "repo", "app", tools, _keys(age=age))
    with pytest.raises(RenderError, match="Secret db is still SOPS-encrypted"):
        await _render(tmp_path / "repo", "chart", tools, None)
