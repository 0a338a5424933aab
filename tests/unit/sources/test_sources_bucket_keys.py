"""The pure parts of reading a bucket: its URL, which keys are accepted, and the digests."""

from __future__ import annotations

import pytest

from gitward.core.errors import FetchError
from gitward.sources.bucket import BucketURL, Entry, check_key, index_digest, path_digest


def test_urls() -> None:
    assert BucketURL.parse("s3+http://127.0.0.1:9000/fleet/clusters/dev") == BucketURL(
        base="http://127.0.0.1:9000", bucket="fleet", prefix="clusters/dev"
    )
    assert BucketURL.parse("s3://minio.example.com/fleet").base == "https://minio.example.com"
    with pytest.raises(FetchError):
        BucketURL.parse("https://minio.example.com/fleet")


@pytest.mark.parametrize("key", ["../x.yaml", "a/../../x.yaml", "/etc/passwd", "a//b.yaml", "a/./b", "a\\b"])
def test_keys_that_are_not_plain_relative_paths_are_refused(key: str) -> None:
    with pytest.raises(FetchError, match="is not a plain relative path"):
        check_key(key)


def test_the_revision_depends_on_keys_and_etags_not_their_order() -> None:
    a, b = Entry("a.yaml", '"1"', 1), Entry("dev/b.yaml", '"2"', 1)
    assert index_digest([a, b]) == index_digest([b, a])
    assert index_digest([a, b]) != index_digest([a, Entry("dev/b.yaml", '"3"', 1)])
    assert path_digest([a, b], "./dev") == index_digest([b])
    assert path_digest([a, b], "") == index_digest([a, b])
    assert path_digest([a, b], "prod") == ""
