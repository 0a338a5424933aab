"""The Git transports the source-server tests run over, and the credentials each one needs."""

from __future__ import annotations

from devtools.gitservers import GitServer, SshGitServer

from conftest import BEARER_TOKEN, HTTP_PASSWORD, HTTP_USER
from gitward.sources.credentials import GitCredentials

TRANSPORTS = ["file_server", "daemon_server", "http_server", "bearer_server", "ssh_server"]


def credentials_for(name: str, server: GitServer) -> GitCredentials | None:
    if name == "http_server":
        return GitCredentials(username=HTTP_USER, password=HTTP_PASSWORD)
    if name == "bearer_server":
        return GitCredentials(bearer_token=BEARER_TOKEN)
    if isinstance(server, SshGitServer):
        return GitCredentials(ssh_private_key=server.client_key, known_hosts=server.known_hosts)
    return None
