"""The pure half of SOPS handling: which files are encrypted, ciphertext left in a render, dearmoring,
and scrubbing decrypted values out of messages."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gitward.render.params import DEFAULT_SETTINGS, RenderTools
from gitward.render.sops import Decryptor, ciphertext_left, dearmor, is_encrypted, recipients, sops_format

ENC = "ENC[AES256_GCM,data:v9qIstZV0RsMDPbvxOLfIw==,iv:ePy4=,tag:DNvu==,type:str]"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.yaml", "yaml"), ("b.YML", "yaml"), ("c.json", "json"), ("d.env", "dotenv"), ("e.ini", "ini"),
     ("f.bin", "binary"), ("key", "binary")],
)  # fmt: skip
def test_sops_format_follows_the_extension(name: str, fmt: str) -> None:
    assert sops_format(name) == fmt


def test_encrypted_files_are_recognised_in_every_format() -> None:
    assert is_encrypted(f"password: {ENC}\n".encode())
    assert is_encrypted(b"FOO=x\nsops_mac=ENC[AES256_GCM,data:x]\n")
    assert is_encrypted(b'{"data": "x", "sops": {"mac": "ENC[AES256_GCM,data:x]"}}')
    assert not is_encrypted(b"apiVersion: v1\nkind: ConfigMap\n")


def _secret(**fields: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, **fields}


def test_ciphertext_left_in_a_render_is_found_wherever_it_hides() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    assert ciphertext_left([cm, _secret(stringData={"p": "plain"})]) is None
    assert ciphertext_left([cm, _secret(stringData={"p": "x"}, sops={"mac": ENC})]) == "Secret n/s"
    assert ciphertext_left([cm, _secret(stringData={"p": ENC})]) == "Secret n/s"
    embedded = base64.b64encode(f"a: b\nsops:\n    mac: {ENC}\n".encode()).decode()
    assert ciphertext_left([cm, _secret(data={"file.yaml": embedded})]) == "Secret n/s"
    assert ciphertext_left([]) is None


def test_dearmor_decodes_armored_blocks_and_keeps_binary() -> None:
    payload = bytes(range(60))
    body = base64.b64encode(payload).decode()
    armored = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: test\n\n"
        f"{body[:40]}\n{body[40:]}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n"
    )
    assert dearmor(armored.encode()) == payload
    assert dearmor(armored.encode() * 2) == payload * 2
    assert dearmor(payload) == payload


def test_recipients_are_named_from_the_sops_metadata() -> None:
    text = b"sops:\n  age:\n    - recipient: age1krgl9zrzrr3z77l2vnennkc48lczdlx6pcytrrx6f85xzuxpadxsl0takn\n"
    text += b"  pgp:\n    - fp: 566C56E7F43C3D6909B194C0B2F571511B913C3A\n"
    assert recipients(text).split(", ") == [
        "age1krgl9zrzrr3z77l2vnennkc48lczdlx6pcytrrx6f85xzuxpadxsl0takn",
        "PGP 566C56E7F43C3D6909B194C0B2F571511B913C3A",
    ]


def test_scrub_hides_every_decrypted_value(tmp_path: Path) -> None:
    decryptor = Decryptor(
        None,
        tools=RenderTools(kustomize=Path("k"), helm=Path("h")),
        workdir=tmp_path,
        settings=DEFAULT_SETTINGS,
    )
    decryptor._remember(b"stringData:\n    password: hunter2-long\nTOKEN='tok-123456'\n")
    assert decryptor.scrub("bad value hunter2-long near tok-123456") == "bad value *** near ***"
