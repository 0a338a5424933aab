"""Who made a commit and why: author, time and message of one commit in a mirror, for the web UI.

Why here: reading Git objects (pygit2) belongs to ``sources/`` (docs/architecture.md, layers); the app page
shows the deployed commit's message and author next to its revision, as Argo CD does. The mirror is
opened read-only per call (a handle is cheap, and this runs on a page view, not in a reconcile); the
message is capped so one enormous commit message cannot bloat a page.

Deliberately not here: caching (commits never change; the caller remembers answers) and any fetch.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from gitward.sources.gitcache import GitCache

MAX_MESSAGE = 4000


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    time: float  # author time, epoch seconds
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "sha": self.sha,
            "author": self.author,
            "email": self.email,
            "time": self.time,
            "subject": self.subject,
            "message": self.message,
        }


def commit_info(cache: GitCache, url: str, commit: str) -> CommitInfo | None:
    """The commit's metadata, or None when the mirror or the commit is not there (yet)."""
    mirror = cache.mirror_path(url)
    if not (mirror / "HEAD").exists() or not commit:
        return None
    try:
        repo = pygit2.Repository(str(mirror))
        found = repo.get(commit)
    except (pygit2.GitError, ValueError, KeyError):
        return None
    if not isinstance(found, pygit2.Commit):
        return None
    author = found.author
    message = found.message or ""
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "\n..."
    return CommitInfo(
        sha=str(found.id),
        author=str(author.name),
        email=str(author.email),
        time=float(author.time),
        message=message.strip(),
    )
