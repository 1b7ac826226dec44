"""SSH transports: a paramiko exec channel running `cl serve-stdio PATH` on
the far side (honouring ~/.ssh/config, the agent, keys and known hosts), or
— when config `ssh.command` is set — that command (e.g. the system `ssh`) as
a subprocess.  Both are byte streams for StreamTransport.  The only module
that imports paramiko."""

import collections
import getpass
import os
import re
import shlex
import socket
import subprocess
import sys
import threading

from cl.remote.frames import RemoteError
from cl.remote.limits import TIMEOUT
from cl.remote.transport import Settings, StreamTransport, wait_for, widen_pipe
from cl.remote.urls import RemoteURL

WINDOW = 4 << 20     # flow-control window; larger only grows what waits in the buffer
MAX_PACKET = 1 << 18


def remote_command(url: RemoteURL, cl: str = "cl") -> str:
    path = url.path
    if path.startswith("~/"):
        quoted = "~/" + shlex.quote(path[2:])
    elif path == "~":
        quoted = "~"
    else:
        quoted = shlex.quote(path)
    return f"{cl} serve-stdio {quoted}"


def _import_paramiko(config_text: str):
    """paramiko, imported without invoke unless the ssh config has a
    `Match exec`: paramiko.config imports invoke (asyncio, unittest.mock: a
    large share of every connection's start) for running those commands alone.
    With invoke held back, paramiko records the ImportError and would
    raise it only on evaluating a `Match exec`, which this config has not."""
    if "paramiko" in sys.modules or "invoke" in sys.modules \
            or re.search(r"^\s*match\b.*\bexec\b", config_text, re.I | re.M):
        import paramiko
        return paramiko
    sys.modules["invoke"] = None  # makes `import invoke` raise ImportError
    try:
        import paramiko
    finally:
        del sys.modules["invoke"]
    return paramiko


class ChunkPipe:
    """A paramiko channel's receive buffer (`Channel.in_buffer`) that
    keeps what arrives as the packets it came in.  paramiko's own
    (`BufferedPipe`) appends each packet to an array and copies every read
    out of it again: two copies, with the interpreter lock held, of every
    byte a pull receives, in the thread that decrypts the next packets.
    The same interface and behaviour: `feed` from paramiko's thread, `read`
    of at most `nbytes` (b"" once closed and drained, `timeout_error` after
    `timeout` seconds with nothing), and the event `Channel.fileno` sets."""

    def __init__(self, timeout_error: type[Exception]):
        self._cv = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._closed = False
        self._event = None
        self._timeout_error = timeout_error

    def set_event(self, event) -> None:
        with self._cv:
            self._event = event
            if self._closed or self._size:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes) -> None:
        with self._cv:
            if self._event is not None:
                self._event.set()
            self._chunks.append(bytes(data))
            self._size += len(data)
            self._cv.notify_all()

    def read_ready(self) -> bool:
        with self._cv:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        with self._cv:
            if not self._cv.wait_for(lambda: self._size or self._closed, timeout):
                raise self._timeout_error()
            return self._take(nbytes)

    def _take(self, nbytes: int) -> bytes:
        out, n = [], 0
        while self._chunks and n < nbytes:
            chunk = self._chunks[0]
            if n + len(chunk) <= nbytes:
                out.append(self._chunks.popleft())
                n += len(chunk)
            else:
                out.append(chunk[:nbytes - n])
                self._chunks[0] = chunk[nbytes - n:]
                n = nbytes
        self._size -= n
        if not self._size and self._event is not None and not self._closed:
            self._event.clear()
        return out[0] if len(out) == 1 else b"".join(out)  # b"" for none

    def empty(self) -> bytes:
        with self._cv:
            return self._take(self._size)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        with self._cv:
            return self._size


class ParamikoTransport(StreamTransport):
    def __init__(self, url: RemoteURL, label: str, cl: str = "cl", timeout: float = TIMEOUT):
        config_path = os.path.expanduser("~/.ssh/config")
        try:
            with open(config_path) as f:
                config_text = f.read()
        except FileNotFoundError:
            config_text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise RemoteError(f"ssh: cannot read {config_path}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        paramiko = _import_paramiko(config_text)
        config = paramiko.SSHConfig.from_text(config_text)
        host = config.lookup(url.host)
        hostname = host.get("hostname", url.host)
        port = url.port or int(host.get("port", 22))
        user = url.user or host.get("user") or getpass.getuser()
        only = host.get("identitiesonly", "no").lower() == "yes"
        where = f"{user}@{hostname}:{port}"

        # AES-GCM first: one pass instead of AES-CTR plus an HMAC, so about
        # half the CPU per byte in paramiko's pure-Python packet loop.
        preferred = paramiko.Transport._preferred_ciphers
        gcm = tuple(c for c in preferred if c.endswith("gcm@openssh.com"))
        paramiko.Transport._preferred_ciphers = gcm + tuple(c for c in preferred if c not in gcm)
        client = paramiko.SSHClient()
        client.load_system_host_keys()
        for known in host.get("userknownhostsfile", "").split():
            known = os.path.expanduser(known)
            if os.path.exists(known):
                client.load_host_keys(known)
        strict = host.get("stricthostkeychecking", "yes").lower()
        client.set_missing_host_key_policy(
            paramiko.AutoAddPolicy() if strict in ("no", "off", "accept-new") else paramiko.RejectPolicy())
        try:
            client.connect(hostname, port=port, username=user,
                           key_filename=[os.path.expanduser(k) for k in host.get("identityfile", [])] or None,
                           allow_agent=not only, look_for_keys=not only, timeout=min(timeout, 30),
                           banner_timeout=min(timeout, 30), auth_timeout=min(timeout, 30))
        except paramiko.AuthenticationException:
            client.close()
            raise RemoteError(f"ssh: permission denied for {where} (no key the server accepts)") from None
        except paramiko.SSHException as exc:
            client.close()
            raise RemoteError(f"ssh: {where}: {exc}") from None
        except (OSError, socket.timeout) as exc:
            client.close()
            raise RemoteError(f"ssh: cannot connect to {where}: {exc.strerror or exc}") from None
        self._client = client
        # A small request after a large response would otherwise wait for
        # the far side's delayed acknowledgement of paramiko's window
        # adjustments (Nagle's algorithm): some 40 ms, each time.
        client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = client.get_transport().open_session(window_size=WINDOW, max_packet_size=MAX_PACKET)
        channel.in_buffer = ChunkPipe(paramiko.buffered_pipe.PipeTimeout)  # before anything can arrive
        channel.settimeout(timeout)  # recv and sendall raise socket.timeout (a TimeoutError)
        channel.exec_command(remote_command(url, cl))
        self._channel = channel
        # Take all that is buffered at each read: one join of the packets
        # and one wakeup for up to a window's worth (ChunkPipe).
        super().__init__(lambda n: channel.recv(WINDOW), channel.sendall, lambda: None, label, timeout)

    def diagnostics(self) -> str:
        chunks = []
        while self._channel.recv_stderr_ready():
            chunks.append(self._channel.recv_stderr(65536))
        return b"".join(chunks).decode(errors="replace")

    def close(self) -> None:
        try:
            self._channel.shutdown_write()
        except Exception:  # the channel may already be gone
            pass
        self._channel.close()
        self._client.close()


class CommandTransport(StreamTransport):
    """A stream to a subprocess: `ssh [opts] [user@]host 'cl serve-stdio PATH'`."""

    def __init__(self, argv: list[str], label: str, timeout: float = TIMEOUT):
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            raise RemoteError(f"cannot run '{argv[0]}': {exc.strerror}") from None
        self._stderr = bytearray()
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        out_fd = self._proc.stdout.fileno()
        stdin = self._proc.stdin
        for fd in (out_fd, stdin.fileno()):
            widen_pipe(fd)

        in_fd = stdin.fileno()

        def read(n):
            wait_for(out_fd, timeout)
            return os.read(out_fd, n)

        def write(data):
            view = memoryview(data)
            while view:
                wait_for(in_fd, timeout, writing=True)
                view = view[stdin.write(view) or 0:]

        super().__init__(read, write, lambda: None, label, timeout)

    def _collect(self):
        for line in self._proc.stderr:
            self._stderr += line

    def diagnostics(self) -> str:
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=2)
        return self._stderr.decode(errors="replace")

    def release(self) -> None:
        """The far side reads the end of its input and exits, and ssh
        with it (some milliseconds of sshd's teardown), while the caller
        stores what it received."""
        try:
            self._proc.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        self.release()
        try:
            self._proc.wait(timeout=0 if self.broken else 30)  # a stalled peer is not waited for
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()


def open_paramiko(url: RemoteURL, settings: Settings) -> "ParamikoTransport":
    """The `ssh` transport (cl/sync/transports.py)."""
    return ParamikoTransport(url, settings.label, settings.ssh_cl, settings.limits.timeout)


def open_command(url: RemoteURL, settings: Settings) -> "CommandTransport":
    """The `ssh-command` transport: config `ssh.command` (cl/sync/transports.py)."""
    argv = system_ssh_argv(settings.ssh_command, url, settings.ssh_cl)
    return CommandTransport(argv, settings.label, settings.limits.timeout)


# OpenSSH's default ciphers (6.5 to 9.x), AES-GCM first: with AES
# instructions it costs the two ends about half the CPU per byte that
# ChaCha20-Poly1305 (OpenSSH's first choice) does, which a transfer of many
# megabytes between two busy cores feels (docs/design.md, sync "Speed").
# The full list rather than OpenSSH 8's `^` prefix, which older clients refuse.
AES_FIRST = ("aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
             "aes128-ctr,aes192-ctr,aes256-ctr")
_CIPHERS_LINE = re.compile(r"^\s*ciphers\b", re.I | re.M)


def cpu_has_aes(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this machine's CPU has AES instructions (the `aes` flag of
    x86 and of ARM's features); False where it cannot tell."""
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return False
    for line in text.splitlines():
        key, _, values = line.partition(":")
        if key.strip() in ("flags", "Features") and "aes" in values.split():
            return True
    return False


def chooses_ciphers(argv: list[str]) -> bool:
    """Whether the user chose ssh's ciphers: `-c` or `-o Ciphers` in the
    command, or a Ciphers line in the configuration it reads (`-F FILE`, or
    ~/.ssh/config, /etc/ssh/ssh_config and its ssh_config.d)."""
    files = [os.path.expanduser("~/.ssh/config"), "/etc/ssh/ssh_config"]
    try:
        files += sorted(os.path.join("/etc/ssh/ssh_config.d", n) for n in os.listdir("/etc/ssh/ssh_config.d"))
    except OSError:
        pass
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith("-c") or _CIPHERS_LINE.match(arg.removeprefix("-o").strip()):
            return True
        if arg == "-F" and i + 1 < len(argv):
            files = [argv[i + 1]]
        elif arg.startswith("-F") and len(arg) > 2:
            files = [arg[2:]]
    for path in files:
        try:
            with open(path, errors="replace") as f:
                if _CIPHERS_LINE.search(f.read()):
                    return True
        except OSError:
            continue
    return False


def system_ssh_argv(command: str, url: RemoteURL, cl: str = "cl", aes: bool | None = None) -> list[str]:
    """`ssh [opts] [-p PORT] -- [user@]host 'cl serve-stdio PATH'`: `--`
    ends the options, so a host that starts with '-' (which parse_url
    refuses anyway) can never be taken for one.  OpenSSH (a command named
    `ssh`) is asked for AES-GCM first where the CPU has AES instructions
    (`aes`: whether it does; None looks), unless the user chose ciphers."""
    argv = shlex.split(command)
    if argv and os.path.basename(argv[0]) == "ssh" and not chooses_ciphers(argv) \
            and (cpu_has_aes() if aes is None else aes):
        argv += ["-o", f"Ciphers={AES_FIRST}"]
    if url.port:
        argv += ["-p", str(url.port)]
    argv.append("--")
    argv.append(f"{url.user}@{url.host}" if url.user else url.host)
    argv.append(remote_command(url, cl))
    return argv
