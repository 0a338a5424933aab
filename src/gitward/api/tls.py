"""TLS for the API: the operator's certificate, or one made on first start (``--tls auto``).

``--tls auto`` writes ``tls.crt`` and ``tls.key`` next to the state database the first time and reuses
them afterwards, so clients that trust the certificate keep trusting it across restarts. The key is
created mode 0600 with ``O_EXCL`` (never readable by others, not even for an instant), a P-256 key;
the certificate is self-signed, valid for one year, for ``localhost``, ``127.0.0.1``, ``::1``, this
host's name and the listen address. A certificate that expires within 30 days, or that does not
cover the listen address, is made anew at start.

The CLI verifies it: a local server announces the certificate's path in its local-server record and
``gitward`` trusts exactly that file for that server; any other client is given it with
``--ca-file``. There is no "skip verification" switch.

Deliberately not here: certificate rotation while running (restart the server) and client
certificates.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitward.core.errors import ValidationError

VALID_DAYS = 365
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def _names(host: str) -> list[x509.GeneralName]:
    dns = {"localhost", socket.gethostname()}
    ips = {"127.0.0.1", "::1"}
    try:
        ipaddress.ip_address(host)
        ips.add(host)
    except ValueError:
        dns.add(host)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(dns) if n]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    return names


def _covers(cert: x509.Certificate, host: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        return ipaddress.ip_address(host) in san.get_values_for_type(x509.IPAddress)
    except ValueError:
        return host in san.get_values_for_type(x509.DNSName)


def _usable(files: TlsFiles, host: str) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    except (OSError, ValueError):
        return False
    renew_at = cert.not_valid_after_utc - datetime.timedelta(days=RENEW_BEFORE_DAYS)
    return datetime.datetime.now(datetime.UTC) < renew_at and _covers(cert, host)


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def self_signed(folder: Path, *, host: str) -> TlsFiles:
    """The certificate and key in ``folder`` (``tls.crt``, ``tls.key``), made when missing or stale."""
    files = TlsFiles(folder / "tls.crt", folder / "tls.key")
    if files.key.exists() and files.key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(f"TLS key {files.key} is readable by others; run: chmod 600 {files.key}")
    if _usable(files, host):
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitward")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(files.key, pem_key)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def operator_files(cert: Path, key: Path) -> TlsFiles:
    """``--tls-cert``/``--tls-key`` as given; both must be readable, the key by nobody else."""
    for path in (cert, key):
        if not path.is_file():
            raise ValidationError(f"TLS file {path} does not exist")
    if key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(f"TLS key {key} is readable by others; run: chmod 600 {key}")
    return TlsFiles(cert.absolute(), key.absolute())
