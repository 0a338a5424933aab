"""Fetch the objects of an S3-compatible bucket (a Flux ``Bucket`` source) as an artifact.

The source URL is ``s3://HOST[:PORT]/BUCKET[/PREFIX]`` (HTTPS with verified certificates) or
``s3+http://HOST[:PORT]/BUCKET[/PREFIX]`` (plain HTTP, loopback hosts only, checked by the model).
Requests are path-style and anonymous: a bucket readable without credentials (gitward signs no
request, so a Bucket naming a ``secretRef`` is refused when it is loaded).

The listing (``ListObjectsV2``, every page) is read first, capped in size before it is parsed and in
the number of objects; its keys and ETags make the revision (``sha256:`` of the sorted index, as a
Flux Bucket's revision is a digest of its index), so a bucket that did not change is not downloaded
again: each revision is kept in its own folder under ``dest`` and reused. Every key must be a plain
relative path (no ``..``, no absolute or empty segment) or the fetch is refused; each object is
capped, and so is the total. Keys ending in ``/`` (folder markers) are skipped.

Deliberately not here: credentials and request signing, provider-specific APIs (AWS, GCP, Azure),
``ignore`` rules.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import shutil
import tempfile
import xml.etree.ElementTree as ET  # the body is size-capped; expat refuses entity expansion bombs
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from gitward.core.errors import FetchError
from gitward.sources.artifact import Artifact
from gitward.sources.httpget import http_get

SCHEMES = {"s3": "https", "s3+http": "http"}
MAX_LISTING_BYTES = 8 << 20  # one page of a listing
MAX_OBJECTS = 10_000
MAX_OBJECT_BYTES = 8 << 20
MAX_TOTAL_BYTES = 256 << 20
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class BucketURL:
    base: str  # http(s)://host[:port]
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BucketURL:
        parts = urlsplit(url)
        scheme = SCHEMES.get(parts.scheme.lower())
        if scheme is None or not parts.netloc:
            raise FetchError(f"{url!r} is not an s3:// or s3+http:// bucket URL")
        bucket, _, prefix = parts.path.lstrip("/").partition("/")
        if not bucket:
            raise FetchError(f"{url!r} names no bucket")
        return cls(base=f"{scheme}://{parts.netloc}", bucket=bucket, prefix=prefix)


@dataclass(frozen=True)
class Entry:
    key: str
    etag: str
    size: int


def index_digest(entries: list[Entry]) -> str:
    """``sha256:`` of the sorted keys and ETags: the bucket's revision."""
    lines = "".join(f"{e.key} {e.etag}\n" for e in sorted(entries, key=lambda e: e.key))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def check_key(key: str) -> str:
    """A key as a relative path inside the artifact, or a refusal naming it."""
    if key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in key.split("/")):
        raise FetchError(f"bucket object {key!r} is not a plain relative path; nothing is fetched")
    return key


def list_objects(url: BucketURL, *, timeout: float) -> list[Entry]:
    """Every object under the prefix, folder markers left out; capped in count."""
    entries: list[Entry] = []
    token = ""
    while True:
        query = {"list-type": "2", "prefix": url.prefix}
        if token:
            query["continuation-token"] = token
        body = http_get(
            f"{url.base}/{quote(url.bucket)}?{urlencode(query)}",
            max_bytes=MAX_LISTING_BYTES,
            timeout=timeout,
            what="bucket listing",
        )
        try:
            root = ET.fromstring(body)  # noqa: S314 - size-capped; expat refuses entity bombs
        except ET.ParseError:
            raise FetchError(f"the listing of bucket {url.bucket!r} is not valid XML") from None
        for item in root.iter(f"{_NS}Contents"):
            key = item.findtext(f"{_NS}Key") or ""
            if key.endswith("/"):
                continue
            size = int(item.findtext(f"{_NS}Size") or "0")
            entries.append(Entry(check_key(key), item.findtext(f"{_NS}ETag") or "", size))
            if len(entries) > MAX_OBJECTS:
                raise FetchError(
                    f"bucket {url.bucket!r} holds more than {MAX_OBJECTS} objects", reason="TooLarge"
                )
        token = root.findtext(f"{_NS}NextContinuationToken") or ""
        if (root.findtext(f"{_NS}IsTruncated") or "false").lower() != "true" or not token:
            return entries


def _download(url: BucketURL, entries: list[Entry], folder: Path, *, timeout: float) -> None:
    total = 0
    for entry in entries:
        data = http_get(
            f"{url.base}/{quote(url.bucket)}/{quote(entry.key)}",
            max_bytes=MAX_OBJECT_BYTES,
            timeout=timeout,
            what="bucket object",
        )
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise FetchError(
                f"bucket {url.bucket!r} holds more than {MAX_TOTAL_BYTES} bytes", reason="TooLarge"
            )
        target = folder / entry.key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def path_digest(entries: list[Entry], path: str) -> str:
    """The input key of ``path`` inside the artifact: a digest of the entries under it ("" if none)."""
    folder = posixpath.normpath(path) if path else "."
    under = [e for e in entries if folder == "." or e.key.startswith(folder + "/")]
    return index_digest(under) if under else ""


def fetch_bucket_sync(url: str, path: str, *, dest: Path, timeout: float = 60.0) -> Artifact:
    parsed = BucketURL.parse(url)
    entries = list_objects(parsed, timeout=timeout)
    digest = index_digest(entries)
    folder = dest / "buckets" / hashlib.sha256(url.encode()).hexdigest()[:32] / digest.removeprefix("sha256:")
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder.parent))
        try:
            _download(parsed, entries, work, timeout=timeout)
            if not folder.is_dir():  # another fetch of the same revision may have finished first
                work.replace(folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Artifact(
        url=url, revision="latest", commit=digest, path=path, tree=path_digest(entries, path), root=folder
    )


async def fetch_bucket(url: str, path: str, *, dest: Path, timeout: float = 60.0) -> Artifact:  # noqa: ASYNC109
    """``fetch_bucket_sync`` in a thread."""
    return await asyncio.to_thread(fetch_bucket_sync, url, path, dest=dest, timeout=timeout)
