"""What git's verify-commit says, read into a verdict: the tools' real output shapes, good and bad.

A verdict is good only when git succeeded *and* the tool's own words name a good signature; every
other shape is a refusal with the reason shown to the user.
"""

from __future__ import annotations

import pytest

from gitward.sources.signatures import KeySet, classify, is_private_openpgp

FPR = "566C56E7F43C3D6909B194C0B2F571511B913C3A"
GOOD_GPG = (
    f"[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG B2F571511B913C3A Alice <a@x>\n"
    f"[GNUPG:] VALIDSIG {FPR} 2026-11-30 1796046550 0 4 0 22 8 00 {FPR}\n[GNUPG:] TRUST_UNDEFINED 0 pgp\n"
)
SSH_KEY = "SHA256:cgGySFNIdvQgGbOFHkVingpPRgZhRH6bS6MQrkOwIIg"


@pytest.mark.parametrize(
    ("output", "code", "ok", "reason", "signer"),
    [
        (GOOD_GPG, 0, True, "Signed", FPR),
        (GOOD_GPG, 1, False, "Unverifiable", FPR),  # git said no: never trusted on the words alone
        ("", 1, False, "Unsigned", ""),
        ("error: no signature found\n", 1, False, "Unsigned", ""),
        ("[GNUPG:] ERRSIG B2F571511B913C3A 22 8 00 1 9 x\n[GNUPG:] NO_PUBKEY B2F571511B913C3A\n", 1, False,
         "UnknownKey", "B2F571511B913C3A"),
        ("[GNUPG:] BADSIG B2F571511B913C3A Alice <a@x>\n", 1, False, "BadSignature", "B2F571511B913C3A"),
        ("[GNUPG:] EXPKEYSIG B2F571511B913C3A Alice <a@x>\n", 1, False, "ExpiredKey", "B2F571511B913C3A"),
        ("[GNUPG:] REVKEYSIG B2F571511B913C3A Alice <a@x>\n", 1, False, "RevokedKey", "B2F571511B913C3A"),
        (f'Good "git" signature for bob@x with ED25519 key {SSH_KEY}\n', 0, True, "Signed", SSH_KEY),
        (f'Good "git" signature with ED25519 key {SSH_KEY}\nNo principal matched.\n', 1, False, "UnknownKey",
         SSH_KEY),
        ("Signature verification failed: incorrect signature\n", 1, False, "BadSignature", ""),
        ("gpgsm: something\n", 1, False, "Unverifiable", ""),
    ],
)  # fmt: skip
def test_classify(output: str, code: int, ok: bool, reason: str, signer: str) -> None:
    verdict = classify(output, code)
    assert (verdict.ok, verdict.reason) == (ok, reason)
    assert signer in verdict.signer


def test_private_openpgp_material_is_recognised_armored_and_binary() -> None:
    assert is_private_openpgp(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx")
    assert not is_private_openpgp(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx")
    assert is_private_openpgp(bytes([0xC5, 0x10]))  # new-format packet, tag 5 (secret key)
    assert is_private_openpgp(bytes([0x94, 0x10]))  # old-format packet, tag 5
    assert not is_private_openpgp(bytes([0xC6, 0x10]))  # tag 6: public key
    assert not is_private_openpgp(b"")


def test_a_key_set_digest_is_its_content_in_any_order() -> None:
    one = KeySet(gpg=(b"a", b"b"), ssh=("x k",))
    assert one.digest == KeySet(gpg=(b"b", b"a"), ssh=("x k",)).digest
    assert one.digest != KeySet(gpg=(b"a",), ssh=("x k",)).digest
    assert one.digest != KeySet(gpg=(b"a", b"b")).digest
