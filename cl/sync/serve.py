"""`cl serve-stdio PATH`: one protocol session over standard input and
output — what an SSH remote runs on the far side."""

import os

from cl.remote.frames import RemoteError
from cl.remote.server import serve_stream
from cl.remote.transport import wait_for, widen_pipe
from cl.sync.remotes import local_server, repository_at


def serve_stdio(path: str, in_fd: int = 0, out_fd: int = 1) -> None:
    """Serve until the client ends the session, or lets config
    `sync.timeout` (of the served repository) pass in silence."""
    repo = repository_at(path)
    for fd in (in_fd, out_fd):
        widen_pipe(fd)  # when sshd hands us pipes
    out = os.fdopen(os.dup(out_fd), "wb", buffering=1 << 18)
    server = local_server(repo)
    timeout = server.limits.timeout

    def read(n: int) -> bytes:
        try:
            wait_for(in_fd, timeout)
        except TimeoutError:
            raise RemoteError(f"the client sent nothing for {timeout:g} s; gave up") from None
        return os.read(in_fd, n)

    try:
        serve_stream(server, read, out.write, out.flush)
    finally:
        try:
            out.close()
        except OSError:
            pass
        repo.close()
