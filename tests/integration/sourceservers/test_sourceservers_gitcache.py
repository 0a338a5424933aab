"""GitCache against every real transport: fetch, resolve, tree hashes, checkouts, auth failures."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from devtools.gitservers import GitServer, HttpGitServer, SshGitServer
from tests.integration.sourceservers.transports import TRANSPORTS, credentials_for

from conftest import APP_FILES, HTTP_PASSWORD, HTTP_USER
from gitward.core.errors import FetchError, ValidationError
from gitward.sources.credentials import GitCredentials
from gitward.sources.gitcache import GitCache

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fetch_resolve_checkout_each_transport(
    transport: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server: GitServer = request.getfixturevalue(transport)
    repo = server.create_repo("apps", APP_FILES, tags=("v1.0.0",))
    creds = credentials_for(transport, server)
    cache = GitCache(tmp_path / "cache")
    url = server.url("apps")

    first = await cache.fetch(url, credentials=creds)
    assert first.changed
    assert cache.resolve(url, "HEAD") == repo.head()
    again = await cache.fetch(url, credentials=creds)
    assert not again.changed

    artifact = await cache.artifact(url, "main", "apps/web", credentials=creds)
    assert artifact.commit == repo.head()
    assert artifact.tree == repo.tree_of("apps/web")
    assert (artifact.directory / "deployment.yaml").read_text() == APP_FILES["apps/web/deployment.yaml"]

    second = repo.commit({"apps/web/deployment.yaml": "changed: true\n"}, tags=("v1.1.0",))
    moved = await cache.fetch(url, credentials=creds)
    assert moved.changed
    assert cache.resolve(url, "main") == second
    assert cache.resolve(url, "~1.0") == first.refs["refs/heads/main"]
    assert cache.fetch_count == 4  # artifact() fetched once too


async def test_resolve_revisions(file_server, tmp_path: Path) -> None:
    repo = file_server.create_repo("apps", APP_FILES, tags=("v1.0.0",))
    c1 = repo.head()
    c2 = repo.commit({"a.txt": "2"}, tags=("v1.2.0",), annotated=True)
    c3 = repo.commit({"a.txt": "3"}, tags=("v1.10.0", "v2.0.0-rc.1"))
    c4 = repo.commit({"a.txt": "4"}, tags=("v2.0.0",))
    c5 = repo.commit({"b.txt": "feature"}, branch="feature/x")
    cache = GitCache(tmp_path / "cache")
    url = file_server.url("apps")
    await cache.fetch(url)
    cases = {
        "HEAD": c4, "": c4, "main": c4, "feature/x": c5, "refs/heads/feature/x": c5,
        "v1.0.0": c1, "v1.2.0": c2, ">=1.2 <2": c3, "~1.2": c2, "^1.0": c3, "1.x": c3, "*": c4,
        ">=2.0.0-rc.0 <2.0.0": c3, c2: c2, c3[:10]: c3,
    }  # fmt: skip
    for revision, expected in cases.items():
        assert cache.resolve(url, revision) == expected, revision
    for missing in ("nope", ">=3", "0" * 40, "deadbeef"):
        with pytest.raises(FetchError, match="not found"):
            cache.resolve(url, missing)


async def test_tree_hash_changes_only_with_its_path(file_server, tmp_path: Path) -> None:
    repo = file_server.create_repo("apps", APP_FILES)
    c1 = repo.head()
    c2 = repo.commit({"apps/api/configmap.yaml": "changed: 1\n"})
    cache = GitCache(tmp_path / "cache")
    url = file_server.url("apps")
    await cache.fetch(url)
    assert cache.tree_hash(url, c1, "apps/web") == cache.tree_hash(url, c2, "./apps/web/")
    assert cache.tree_hash(url, c1, "apps/api") != cache.tree_hash(url, c2, "apps/api")
    assert cache.tree_hash(url, c1, "") != cache.tree_hash(url, c2, "")
    assert cache.tree_hash(url, c2, "apps/missing") == ""
    with pytest.raises(ValidationError, match="escapes"):
        cache.tree_hash(url, c2, "apps/../../etc")


async def test_checkout_is_read_only_keeps_symlinks_and_is_reused(file_server, tmp_path: Path) -> None:
    repo = file_server.create_repo("apps", {**APP_FILES, "bin/run.sh": "#!/bin/sh\n"})
    (repo.work / "bin/run.sh").chmod(0o755)
    repo.symlink("apps/web/escape", "../../../../etc/passwd")
    repo.symlink("apps/web/inside", "deployment.yaml")
    commit = repo.commit(message="links")
    cache = GitCache(tmp_path / "cache")
    url = file_server.url("apps")
    await cache.fetch(url)
    root = await cache.checkout(url, commit)
    escape = root / "apps/web/escape"
    assert escape.is_symlink()
    assert os.readlink(escape) == "../../../../etc/passwd"
    assert os.readlink(root / "apps/web/inside") == "deployment.yaml"
    assert (root / "bin/run.sh").stat().st_mode & 0o777 == 0o555
    assert (root / "README.md").stat().st_mode & 0o777 == 0o444
    assert (root / "apps").stat().st_mode & 0o777 == 0o555
    assert not (root / ".git").exists()
    again = await asyncio.gather(*(cache.checkout(url, commit) for _ in range(3)))
    assert set(again) == {root}
    assert (root / "README.md").stat().st_ino == (again[0] / "README.md").stat().st_ino
    cache.discard_checkout(commit)
    assert not root.exists()
    assert (await cache.checkout(url, commit) / "README.md").read_text() == "demo\n"


async def test_concurrent_fetches_coalesce(http_server: HttpGitServer, tmp_path: Path) -> None:
    http_server.create_repo("apps", APP_FILES)
    creds = GitCredentials(username=HTTP_USER, password=HTTP_PASSWORD)
    cache = GitCache(tmp_path / "cache")
    url = http_server.url("apps")
    results = await asyncio.gather(*(cache.fetch(url, credentials=creds) for _ in range(8)))
    assert cache.fetch_count == 1
    assert all(r.changed for r in results)
    artifacts = await asyncio.gather(
        *(cache.artifact(url, "main", p, credentials=creds) for p in ("apps/web", "apps/api", "", "apps/web"))
    )
    assert cache.fetch_count == 2
    assert len({a.root for a in artifacts}) == 1


async def test_wrong_password_is_refused_without_leaking_it(
    http_server: HttpGitServer, tmp_path: Path
) -> None:
    http_server.create_repo("apps", APP_FILES)
    cache = GitCache(tmp_path / "cache")
    wrong = GitCredentials(username=HTTP_USER, password="wrong-password-123")
    with pytest.raises(FetchError) as caught:
        await cache.fetch(http_server.url("apps"), credentials=wrong)
    assert "wrong-password-123" not in str(caught.value)
    assert "wrong-password-123" not in repr(wrong)
    assert http_server.url("apps") in str(caught.value)
    with pytest.raises(FetchError):
        await cache.fetch(http_server.url("apps"))


async def test_wrong_bearer_token_is_refused_without_leaking_it(
    bearer_server: HttpGitServer, tmp_path: Path
) -> None:
    bearer_server.create_repo("apps", APP_FILES)
    cache = GitCache(tmp_path / "cache")
    with pytest.raises(FetchError) as caught:
        await cache.fetch(bearer_server.url("apps"), credentials=GitCredentials(bearer_token="tok-WRONG-999"))
    assert "tok-WRONG-999" not in str(caught.value)


async def test_password_in_url_is_redacted(http_server: HttpGitServer, tmp_path: Path) -> None:
    http_server.create_repo("apps", APP_FILES)
    url = http_server.url("apps").replace("http://", f"http://{HTTP_USER}:bad-url-secret@")
    with pytest.raises(FetchError) as caught:
        await GitCache(tmp_path / "cache").fetch(url)
    assert "bad-url-secret" not in str(caught.value)


async def test_ssh_unknown_host_key_is_refused(ssh_server: SshGitServer, tmp_path: Path) -> None:
    ssh_server.create_repo("apps", APP_FILES)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    creds = GitCredentials(ssh_private_key=ssh_server.client_key, known_hosts=empty)
    with pytest.raises(FetchError, match="Host key verification failed"):
        await GitCache(tmp_path / "cache").fetch(ssh_server.url("apps"), credentials=creds)
    assert empty.read_text() == ""  # nothing was trusted on first use


async def test_ssh_unknown_client_key_is_refused(ssh_server: SshGitServer, tmp_path: Path) -> None:
    from devtools.gitservers import make_ssh_key

    ssh_server.create_repo("apps", APP_FILES)
    creds = GitCredentials(ssh_private_key=make_ssh_key(tmp_path / "k"), known_hosts=ssh_server.known_hosts)
    with pytest.raises(FetchError, match="Permission denied"):
        await GitCache(tmp_path / "cache").fetch(ssh_server.url("apps"), credentials=creds)


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "--upload-pack=touch /tmp/x", "fd::3", "/no/scheme"]
)
async def test_dangerous_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="URL"):
        await GitCache(tmp_path / "cache").fetch(url)


async def test_server_down_is_a_fetch_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="failed"):
        await GitCache(tmp_path / "cache").fetch(f"http://127.0.0.1:{port}/apps.git")


async def test_hanging_server_times_out(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"git://127.0.0.1:{sock.getsockname()[1]}/apps.git"
        with pytest.raises(FetchError, match="timed out"):
            await GitCache(tmp_path / "cache", timeout=1).fetch(url)


async def test_caller_arriving_during_a_running_fetch_gets_a_newer_one(
    file_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gitward.sources.gitcache as gitcache_module

    repo = file_server.create_repo("apps", APP_FILES)
    url = file_server.url("apps")
    cache = GitCache(tmp_path / "cache")
    await cache.fetch(url)
    started, release = asyncio.Event(), asyncio.Event()
    real_run_git = gitcache_module.run_git

    async def gated_run_git(args, **kwargs):
        if args[0] == "fetch" and not release.is_set():
            started.set()
            await release.wait()
        return await real_run_git(args, **kwargs)

    monkeypatch.setattr(gitcache_module, "run_git", gated_run_git)
    running = asyncio.create_task(cache.fetch(url))
    await started.wait()  # git is "on the network" now, before the push below
    pushed = repo.commit({"apps/web/new.yaml": "x: 1\n"})
    later = [asyncio.create_task(cache.fetch(url)) for _ in range(3)]
    release.set()
    first = await running
    results = await asyncio.gather(*later)
    assert cache.fetch_count == 3  # initial, the running one, and one shared by the three late callers
    assert all(r.refs["refs/heads/main"] == pushed for r in results)
    assert first.url == url


async def test_cache_root_is_private_whoever_starts_the_cache(file_server: GitServer, tmp_path: Path) -> None:
    """Checkouts hold plaintext manifests: the root is 0700 when new, and tightened when too open."""
    file_server.create_repo("private", APP_FILES)
    fresh = GitCache(tmp_path / "fresh" / "cache")
    await fresh.fetch(file_server.url("private"))
    assert (fresh.root.stat().st_mode & 0o777) == 0o700

    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    GitCache(loose)
    assert (loose.stat().st_mode & 0o777) == 0o700
