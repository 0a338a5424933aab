"""SOPS-encrypted Secrets through the real engine (docs/reliability.md, bad input 13).

The fixtures are encrypted by the real ``sops`` for a key made by the real ``age-keygen``. An
encrypted Secret is applied decrypted (read back from the API), and its value appears nowhere else:
not in ``app get``/``app list``, the diff, history, events, errors, the log, or the bytes of the
state database. Without keys, or with a file changed after it was encrypted, nothing is applied and
the last good state stays. A Flux Kustomization's ``decryption`` reads its keys from the secrets
folder.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap
from tests.integration.trust_fixtures import AgeKey, sops_encrypt

from gitward.core.errors import GitwardError

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def sops_on_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_SOPS", str(toolchain.tool_path("sops")))


def _encrypted_secret(name: str, age: AgeKey, **values: str) -> bytes:
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": values}
    return sops_encrypt(yaml.safe_dump(doc), name="secret.yaml", age=age)


def _live(kube_cluster: Any, name: str, namespace: str) -> dict[str, str] | None:
    out = kube_cluster.kubectl("get", "secret", name, "-n", namespace, "-o", "json", check=False)
    if not out.strip():
        return None
    return {k: base64.b64decode(v).decode() for k, v in json.loads(out)["data"].items()}


def _forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode()]


def _stored(harness: Harness) -> str:
    """Every byte the state folder holds (the database, its WAL), as text."""
    return "".join(p.read_bytes().decode("latin-1") for p in harness.state.parent.rglob("*") if p.is_file())


async def test_an_encrypted_secret_is_applied_decrypted_and_shown_nowhere(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    age = AgeKey.create(tmp_path / "keys" / "age.txt")
    first, second = (f"sops-{p}-{uuid4().hex}" for p in ("first", "second"))
    app = f"sops-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {
        "app/secret.yaml": _encrypted_secret(app, age, password=first),
        "app/cm.yaml": configmap(app, {"v": "1"}),
    })  # fmt: skip
    source = {"decryption": {"ageKeyFiles": [str(age.identity)]}}
    harness.configure(
        application(
            app, repo=git_server.url(app), path="app", namespace=namespace, automated=False, source=source
        )
    )
    engine = await harness.start()
    outputs: list[Any] = []
    operation = await engine.sync_app(app)
    assert operation["phase"] == "Succeeded"
    assert _live(kube_cluster, app, namespace) == {"password": first}

    repo.commit({"app/secret.yaml": _encrypted_secret(app, age, password=second)}, message="rotate")
    outputs.append(await engine.refresh_app(app))
    diff = await engine.diff_app(app)
    assert next(d for d in diff if d["kind"] == "Secret")["action"] == "update"
    outputs += [diff, await engine.sync_app(app)]
    assert _live(kube_cluster, app, namespace) == {"password": second}

    outputs += [operation, engine.get_app(app), engine.list_apps(), engine.history(app), engine.events(app)]
    outputs.append(engine.events())
    await harness.stop()  # the database is flushed and closed before its bytes are read
    text = json.dumps(outputs) + caplog.text + _stored(harness)
    assert "Secret" in json.dumps(outputs)  # the outputs were collected and do describe the Secret
    for value in (first, second):
        for form in _forms(value):
            assert form not in text


async def test_no_key_or_a_tampered_file_applies_nothing_and_keeps_the_last_good_state(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, tmp_path: Path,
) -> None:  # fmt: skip
    age = AgeKey.create(tmp_path / "keys" / "age.txt")
    keyless, keyed = f"nokey-{uuid4().hex[:6]}", f"tamper-{uuid4().hex[:6]}"
    for name in (keyless, keyed):
        git_server.create_repo(name, {"app/secret.yaml": _encrypted_secret(name, age, password="v1-" + name)})
    source = {"decryption": {"ageKeyFiles": [str(age.identity)]}}
    harness.configure(
        application(keyless, repo=git_server.url(keyless), path="app", namespace=namespace, automated=False),
        application(
            keyed, repo=git_server.url(keyed), path="app", namespace=namespace, automated=False, source=source
        ),
    )
    engine = await harness.start()
    with pytest.raises(GitwardError, match="encrypted with SOPS and the application has no decryption keys"):
        await engine.sync_app(keyless)
    assert _live(kube_cluster, keyless, namespace) is None
    assert (await engine.sync_app(keyed))["phase"] == "Succeeded"
    assert _live(kube_cluster, keyed, namespace) == {"password": "v1-" + keyed}

    repo = git_server.repos[keyed]
    encrypted = _encrypted_secret(keyed, age, password="v2-" + keyed).decode()
    tampered = encrypted.replace(f"name: {keyed}", f"name: {keyed}\n    labels: {{evil: 'true'}}")
    assert tampered != encrypted
    repo.commit({"app/secret.yaml": tampered}, message="tampered")
    writes = harness.writes()
    with pytest.raises(GitwardError, match="integrity check"):
        await engine.sync_app(keyed)
    assert harness.writes() == writes
    assert _live(kube_cluster, keyed, namespace) == {"password": "v1-" + keyed}
    assert "v2-" + keyed not in json.dumps([engine.get_app(keyed), engine.events(keyed)])


async def test_a_flux_kustomization_decryption_reads_its_keys_from_the_secrets_folder(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    secrets = tmp_path / "secrets" / "flux-system" / "sops-age"
    age = AgeKey.create(secrets / "age.agekey")
    monkeypatch.setenv("GITWARD_SECRETS_DIR", str(tmp_path / "secrets"))
    kube_cluster.kubectl("create", "namespace", namespace)
    name = f"fluxsops-{uuid4().hex[:6]}"
    git_server.create_repo(name, {
        "apps/secret.yaml": _encrypted_secret(name, age, password="flux-" + name),
        "apps/kustomization.yaml": "resources: [secret.yaml]\n",
    })  # fmt: skip
    harness.configure(
        {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "in-cluster"},
         "spec": {"kubeconfig": str(kube_cluster.kubeconfig)}},
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"url": git_server.url(name), "ref": {"branch": "main"}, "interval": "1h"}},
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"interval": "1h", "retryInterval": "1s", "path": "./apps", "prune": True,
                  "targetNamespace": namespace, "sourceRef": {"kind": "GitRepository", "name": name},
                  "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}},
    )  # fmt: skip
    await harness.start()
    await harness.until(lambda: _live(kube_cluster, name, namespace) == {"password": "flux-" + name})
