"""`cl serve-stdio PATH`: one protocol session over standard input and
output — what an SSH remote runs on the far side."""

import os

from cl.remote.server import serve_stream
from cl.remote.transport import widen_pipe
from cl.sync.remotes import local_server, repository_at


def serve_stdio(path: str, in_fd: int = 0, out_fd: int = 1) -> None:
    repo = repository_at(path)
    for fd in (in_fd, out_fd):
        widen_pipe(fd)  # when sshd hands us pipes
    out = os.fdopen(os.dup(out_fd), "wb", buffering=1 << 18)
    try:
        serve_stream(local_server(repo), lambda n: os.read(in_fd, n), out.write, out.flush)
    finally:
        try:
            out.close()
        except OSError:
            pass
        repo.close()
