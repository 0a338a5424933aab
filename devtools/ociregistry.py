"""A throw-away OCI registry on loopback for tests: the CNCF distribution registry, with or without auth.

The registry is the pinned ``registry`` binary (``devtools.toolchain.build_registry``) serving plain HTTP
on 127.0.0.1 with filesystem storage under ``folder``. ``auth`` is one of:

- ``"none"``: anonymous pull and push;
- ``"htpasswd"``: Basic authentication, one user (``USERNAME``/``PASSWORD``; the bcrypt line is fixed);
- ``"token"``: the Bearer challenge flow. A small token service in this process (``/token`` on its own
  loopback port) checks the same user's Basic credentials, or lets anyone pull anonymously when
  ``anonymous_pull`` is set, and answers with a JWT signed by a throw-away EC key whose self-signed
  certificate is the registry's ``rootcertbundle``.

Charts go in with the real ``helm push`` (``push_chart``); manifests packaged the way ``flux push
artifact`` does go in through ``push_artifact``, a small client of the OCI distribution push protocol
(monolithic blob uploads, then the manifest). ``blob_file`` is where a blob lies on disk, so a test can
corrupt a stored layer and see the fetch refuse it. Deliberately not here: TLS.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import secrets
import subprocess
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devtools import toolchain
from devtools.gitservers import free_port
from devtools.helmrepo import default_chart_files
from devtools.lifecycle import StartStop

USERNAME = "gitward-tests"
PASSWORD = "gitward-registry-password"  # a test user's password, nothing else
# bcrypt of PASSWORD (cost 10), made once with Python's crypt module (libxcrypt's bcrypt); the registry
# reads only bcrypt htpasswd lines.
PASSWORD_BCRYPT = "$2b$10$XANBfN3mUU2RomR2hgCxqegfxaDfinPH8p/sH/fRMRnOcz.0ymybW"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
FLUX_CONFIG = "application/vnd.cncf.flux.config.v1+json"
FLUX_CONTENT = "application/vnd.cncf.flux.content.v1.tar+gzip"
_SERVICE = "gitward-test-registry"
_ISSUER = "gitward-test-token-service"

Auth = Literal["none", "htpasswd", "token"]


class RegistryError(RuntimeError):
    pass


def tar_gz(files: dict[str, str | bytes]) -> bytes:
    """A gzipped tar of ``files`` with paths as given (no top directory), as ``flux push artifact`` makes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def package_chart(folder: Path, name: str, version: str, files: dict[str, str] | None = None) -> Path:
    """``helm package`` a chart (``helmrepo.default_chart_files`` unless ``files``) into ``folder``."""
    source = folder / "sources" / f"{name}-{version}" / name
    for rel, content in (files or default_chart_files(name, version)).items():
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    home = folder / "helm-home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HELM_CACHE_HOME": str(home / "cache")}
    env["HELM_CONFIG_HOME"], env["HELM_DATA_HOME"] = str(home / "config"), str(home / "data")
    out = folder / "packages"
    argv = [str(toolchain.tool_path("helm")), "package", str(source), "--destination", str(out)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RegistryError(f"helm package failed: {done.stderr.strip()}")
    return out / f"{name}-{version}.tgz"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class _TokenKey:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def new(cls) -> _TokenKey:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _ISSUER)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def token(self, scope: str, subject: str) -> str:
        access = []
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind == "repository" and name:
            allowed = actions.split(",") if subject else [a for a in actions.split(",") if a == "pull"]
            access.append({"type": "repository", "name": name, "actions": allowed})
        now = int(time.time())
        claims = {
            "iss": _ISSUER, "sub": subject, "aud": _SERVICE, "exp": now + 300, "nbf": now - 10,
            "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }  # fmt: skip
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return jwt.encode(
            claims, self.key, algorithm="ES256", headers={"x5c": [base64.b64encode(der).decode()]}
        )


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenServer

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.requests.append(self.path)
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        given = self.headers.get("Authorization")
        if parts.path != "/token" or query.get("service") != [_SERVICE]:
            self._send(404, {"errors": [{"code": "NOT_FOUND", "message": "no such token endpoint"}]})
            return
        if given is not None and given != expected:
            self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong username or password"}]})
            return
        if given is None and not self.server.anonymous_pull:
            self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]})
            return
        scope = (query.get("scope") or [""])[0]
        token = self.server.key.token(scope, USERNAME if given else "")
        self._send(200, {"token": token, "expires_in": 300})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _TokenServer(ThreadingHTTPServer):
    daemon_threads = True
    key: _TokenKey
    anonymous_pull: bool
    requests: list[str]


@dataclass
class OciRegistry(StartStop):
    """The registry at ``host`` (``127.0.0.1:PORT``); ``url(path)`` is ``oci://host/path``."""

    folder: Path
    auth: Auth = "none"
    anonymous_pull: bool = False  # token auth only: pulls need no credentials
    port: int = 0
    _process: subprocess.Popen[bytes] | None = None
    _token_server: _TokenServer | None = None
    _token_thread: threading.Thread | None = None
    _bearer: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"oci://{self.host}/{path}"

    @property
    def log(self) -> Path:
        return self.folder / "registry.log"

    @property
    def token_requests(self) -> list[str]:
        return list(self._token_server.requests) if self._token_server else []

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = toolchain.build_registry()
        self.port = self.port or free_port()
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.folder / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.auth == "htpasswd":
            htpasswd = self.folder / "htpasswd"
            htpasswd.write_text(f"{USERNAME}:{PASSWORD_BCRYPT}\n")
            config["auth"] = {"htpasswd": {"realm": "gitward-tests", "path": str(htpasswd)}}
        elif self.auth == "token":
            config["auth"] = {"token": self._start_token_service()}
        path = self.folder / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.folder), "OTEL_TRACES_EXPORTER": "none"}
        env["OTEL_SDK_DISABLED"] = "true"
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                [str(binary), "serve", str(path)], stdout=out, stderr=out, env=env
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RegistryError(f"registry exited with {self._process.returncode}; read {self.log}")
            try:
                if httpx.get(f"http://{self.host}/v2/", timeout=2).status_code in (200, 401):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RegistryError(f"registry did not answer on {self.host} within 30s; read {self.log}")

    def _start_token_service(self) -> dict[str, str]:
        key = _TokenKey.new()
        bundle = self.folder / "token-ca.pem"
        bundle.write_bytes(key.certificate.public_bytes(serialization.Encoding.PEM))
        server = _TokenServer(("127.0.0.1", 0), _TokenHandler)
        server.key, server.anonymous_pull, server.requests = key, self.anonymous_pull, []
        self._token_server = server
        self._token_thread = threading.Thread(target=server.serve_forever, name="registry-token", daemon=True)
        self._token_thread.start()
        realm = f"http://127.0.0.1:{server.server_address[1]}/token"
        return {"realm": realm, "service": _SERVICE, "issuer": _ISSUER, "rootcertbundle": str(bundle)}

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._token_server is not None:
            self._token_server.shutdown()
            self._token_server.server_close()
        if self._token_thread is not None:
            self._token_thread.join(timeout=10)
        self._token_server, self._token_thread = None, None

    # -- pushing ---------------------------------------------------------------------------------

    def push_chart(self, archive: Path, path: str = "charts") -> str:
        """``helm push ARCHIVE oci://host/PATH --plain-http`` (with the test user when auth is on)."""
        argv = [str(toolchain.tool_path("helm")), "push", str(archive), self.url(path), "--plain-http"]
        if self.auth != "none":
            argv += ["--username", USERNAME, "--password", PASSWORD]
        home = self.folder / "helm"
        env = {
            "PATH": "/usr/bin:/bin", "HOME": str(home), "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data"),
        }  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RegistryError(f"helm push failed: {done.stderr.strip()}")
        return done.stdout + done.stderr

    def push_artifact(
        self,
        repository: str,
        tag: str,
        files: dict[str, str | bytes] | None = None,
        *,
        layer: bytes | None = None,
        config_media_type: str = FLUX_CONFIG,
        layer_media_type: str = FLUX_CONTENT,
    ) -> str:
        """Push manifests as ``flux push artifact`` lays them out; returns the manifest's digest."""
        content = layer if layer is not None else tar_gz(files or {})
        config = b"{}"
        self._push_blob(repository, config)
        self._push_blob(repository, content)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_media_type, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": layer_media_type, "digest": digest_of(content), "size": len(content)}],
            "annotations": {
                "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
                "org.opencontainers.image.source": "https://example.invalid/manifests.git",
                "org.opencontainers.image.revision": f"{tag}@sha1:{'0' * 40}",
            },
        }
        body = json.dumps(manifest).encode()
        response = self._send(
            "PUT", f"/v2/{repository}/manifests/{tag}", repository, content=body,
            headers={"Content-Type": OCI_MANIFEST},
        )  # fmt: skip
        if response.status_code != 201:
            raise RegistryError(f"manifest push: HTTP {response.status_code} {response.text[:300]}")
        return digest_of(body)

    def blob_file(self, digest: str) -> Path:
        """The file the registry serves for ``digest`` (its filesystem storage layout)."""
        hexdigest = digest.removeprefix("sha256:")
        return self.folder / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def manifest(self, repository: str, reference: str) -> dict[str, Any]:
        response = self._send(
            "GET", f"/v2/{repository}/manifests/{reference}", repository, headers={"Accept": OCI_MANIFEST}
        )
        if response.status_code != 200:
            raise RegistryError(f"manifest {repository}:{reference}: HTTP {response.status_code}")
        data: dict[str, Any] = response.json()
        return data

    def _push_blob(self, repository: str, data: bytes) -> None:
        started = self._send("POST", f"/v2/{repository}/blobs/uploads/", repository)
        if started.status_code != 202:
            raise RegistryError(f"blob upload start: HTTP {started.status_code} {started.text[:300]}")
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        done = self._send(
            "PUT", f"{location}{separator}digest={digest_of(data)}", repository, content=data,
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        if done.status_code != 201:
            raise RegistryError(f"blob upload: HTTP {done.status_code} {done.text[:300]}")

    def _send(
        self, method: str, target: str, repository: str, *, content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        url = target if target.startswith("http") else f"http://{self.host}{target}"
        all_headers = dict(headers or {})
        if self.auth == "htpasswd":
            pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
            all_headers["Authorization"] = f"Basic {pair}"
        elif self.auth == "token":
            all_headers["Authorization"] = f"Bearer {self._push_token(repository)}"
        return httpx.request(method, url, content=content, headers=all_headers, timeout=30)

    def _push_token(self, repository: str) -> str:
        if repository not in self._bearer:
            assert self._token_server is not None
            realm = f"http://127.0.0.1:{self._token_server.server_address[1]}/token"
            response = httpx.get(
                realm, params={"service": _SERVICE, "scope": f"repository:{repository}:pull,push"},
                auth=(USERNAME, PASSWORD), timeout=30,
            )  # fmt: skip
            response.raise_for_status()
            self._bearer[repository] = str(response.json()["token"])
        return self._bearer[repository]
