"""Transports: how request frames reach a server and its response frames
come back.  A transport is small — `request(header, body)` yields a
FrameReader over the response, valid until the `with` ends — so one client
speaks the same protocol over a stream (SSH, `ssh`, the in-process pipe) and
over HTTP (one POST per request)."""

import contextlib
import threading
from typing import Callable, Iterable, Iterator, NamedTuple

from cl.remote.frames import Closed, FrameReader, RemoteError, encode, said
from cl.remote.limits import TIMEOUT, Limits
from cl.remote.server import Server, serve_stream

PIPE_SIZE = 1 << 20


def widen_pipe(fd: int) -> None:
    """Give a pipe a 1 MiB buffer (Linux; 64 KiB by default): ssh and cl
    then hand each other a megabyte per wakeup, not 64 KiB.  Anything that
    is not a pipe, or a kernel that refuses, keeps what it has."""
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


class Settings(NamedTuple):
    """What opening a transport needs besides its URL: the remote's name
    (for messages), an HTTP token, config `ssh.command` and `ssh.cl`, and
    the limits (cl/remote/limits.py)."""

    label: str = "remote"
    token: str | None = None
    ssh_command: str | None = None
    ssh_cl: str = "cl"
    limits: Limits = Limits()


def stalled(label: str, timeout: float, sending: bool = False) -> RemoteError:
    """The error for a peer that let `timeout` seconds pass."""
    what = "accepted nothing" if sending else "sent nothing"
    return RemoteError(f"remote '{label}' {what} for {timeout:g} s; gave up "
                       "(config sync.timeout sets how long to wait)")


def wait_for(fd: int, timeout: float, writing: bool = False) -> None:
    """Block until `fd` can be read (or written) or raise TimeoutError."""
    import select

    ready = select.select([] if writing else [fd], [fd] if writing else [], [], timeout)
    if not any(ready):
        raise TimeoutError


class Transport:
    """How requests reach a server (docs/protocol.md §8).  `request`
    yields a FrameReader over the response; every read and write gives up
    with a RemoteError once the peer has let `timeout` seconds pass."""

    label = "remote"
    timeout = TIMEOUT

    def request(self, header: dict, body: Iterable[bytes] = ()) -> contextlib.AbstractContextManager:
        raise NotImplementedError

    def release(self) -> None:
        """Nothing more will be asked: the far side may end its session
        now, while the caller finishes its own work (`close` still waits
        for it).  Where ending costs nothing, there is nothing to do."""

    def close(self) -> None:
        pass


class StreamTransport(Transport):
    """Requests and responses over one full-duplex byte stream.  A response
    not read to its end leaves the stream out of step: the transport is then
    broken and refuses further requests."""

    BUFFER = 1 << 18

    def __init__(self, read: Callable[[int], bytes], write: Callable[[bytes], None],
                 flush: Callable[[], None], label: str, timeout: float = TIMEOUT):
        self._raw_write = write
        self._raw_flush = flush
        self._pending = bytearray()
        self.label = label
        self.timeout = timeout
        self.broken = False

        def timed_read(n: int) -> bytes:
            try:
                return read(n)
            except TimeoutError:
                self.broken = True
                raise stalled(label, timeout) from None

        self.reader = FrameReader(timed_read)

    def _write(self, data: bytes) -> None:
        """Frames are gathered into large writes: one SSH packet or syscall
        per small object would cost more than the object."""
        if len(data) >= self.BUFFER:
            self._flush()
            self._raw_write(data)
            return
        self._pending += data
        if len(self._pending) >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            self._raw_write(data)
        self._raw_flush()

    def diagnostics(self) -> str:
        """What the far side said before it went away (stderr), if anything."""
        return ""

    def _refusal(self) -> RemoteError | None:
        """The error a server answered before it stopped reading a request
        (an object over its limit), if it sent one."""
        try:
            reply = self.reader.recv()
        except (RemoteError, OSError, ValueError):
            return None
        if isinstance(reply, dict) and isinstance(reply.get("error"), str):
            return RemoteError(f"remote '{self.label}': {said(reply['error'])}")
        return None

    def _failed(self, exc: BaseException) -> RemoteError:
        text = self.diagnostics().strip()
        detail = f": {said(text.splitlines()[-1])}" if text else ""
        return RemoteError(f"lost the connection to remote '{self.label}'{detail}")

    @contextlib.contextmanager
    def request(self, header, body=()) -> Iterator[FrameReader]:
        if self.broken:
            raise RemoteError(f"the connection to remote '{self.label}' is broken")
        try:
            self._write(encode(header))
            for chunk in body:
                self._write(chunk)
            self._flush()
        except TimeoutError:
            self.broken = True
            raise stalled(self.label, self.timeout, sending=True) from None
        except (OSError, ValueError) as exc:
            self.broken = True
            raise self._refusal() or self._failed(exc) from None
        except BaseException:
            self.broken = True
            raise
        try:
            yield self.reader
        except Closed as exc:
            self.broken = True
            raise self._failed(exc) from None
        except BaseException:
            self.broken = True
            raise


class PipeTransport(StreamTransport):
    """The in-process pipe: a socket pair with a thread serving `server` on
    the far end.  Directory remotes and the contract tests use it."""

    def __init__(self, server: Server, label: str = "pipe", timeout: float = TIMEOUT):
        import socket  # only directory remotes and tests: serve-stdio starts without it

        self._near, far = socket.socketpair()
        self._near.settimeout(timeout)
        self.server_error: BaseException | None = None
        rfile = self._near.makefile("rb", buffering=0)
        wfile = self._near.makefile("wb", buffering=1 << 16)
        super().__init__(rfile.read, wfile.write, wfile.flush, label, timeout)
        self._files = (rfile, wfile)

        def run():
            fr = far.makefile("rb", buffering=0)
            fw = far.makefile("wb", buffering=1 << 16)
            try:
                serve_stream(server, fr.read, fw.write, fw.flush)
            except BaseException as exc:  # reported to the client as a lost connection
                self.server_error = exc
            finally:
                for f in (fr, fw):
                    with contextlib.suppress(OSError):
                        f.close()
                far.close()

        self._thread = threading.Thread(target=run, daemon=True, name=f"cl-pipe-{label}")
        self._thread.start()

    def diagnostics(self):
        return "" if self.server_error is None else f"{type(self.server_error).__name__}: {self.server_error}"

    def close(self):
        import socket

        for f in self._files:
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(OSError):
            self._near.shutdown(socket.SHUT_RDWR)
        self._near.close()
        self._thread.join(timeout=30)
