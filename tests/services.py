"""Real services for the test suite: a Docker Engine with two small test
images, a throw-away sshd on 127.0.0.1, headless Chromium, and a Slurm
cluster (the one-node cluster of .ci/slurm-up).

Every fixture here either hands out the real thing or reports it missing
through `require_service`: a skip on a laptop, a failure when CI=true (so a
CI machine that lost a service cannot pass by skipping).

The image builder also runs on its own, before pytest, from `.ci/run`:

    python -m tests.services --build-images

Images are made only with `docker import` (no registry is reachable):

* `cl-test/busybox:latest` -- Debian's static /bin/busybox, a symlink for
  every applet, /tmp, /etc/passwd and /etc/group with root and nobody.
* `cl-test/python:latest` -- `debootstrap --variant=minbase
  --include=python3-minimal,python3 bookworm` (python3 brings the whole
  standard library: python3-minimal alone lacks even `json`), plus
  /usr/bin/python -> python3 so the README's `python sort.py` runs.  The root file system tarball is cached
  under /var/cache/cl-test/ (or ~/.cache/cl-test/ when that is not writable).

Each image carries a `cl-test.recipe` label; an image whose label matches the
recipe here is reused, anything else under that name is rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import io
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

__all__ = [
    "BUSYBOX_IMAGE", "PYTHON_IMAGE", "ImageBuildError", "build_images", "ensure_image",
    "require_service", "docker_engine", "busybox_image", "python_image",
    "SSHServer", "start_sshd", "sshd", "Chromium", "find_chromium", "chromium",
    "cl_bin_dir", "slurm_problem", "slurm_cluster",
]

BUSYBOX_IMAGE = "cl-test/busybox:latest"
PYTHON_IMAGE = "cl-test/python:latest"

# Bump a recipe when what goes into the image changes: the label check then
# rebuilds the image everywhere instead of reusing a stale one.
RECIPES = {BUSYBOX_IMAGE: "busybox-1", PYTHON_IMAGE: "python-bookworm-2"}
RECIPE_LABEL = "cl-test.recipe"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


# --------------------------------------------------------------------------
# skip or fail

def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_service(name: str, reason: str):
    """A service a test needs is missing: skip, or fail when CI=true."""
    message = f"{name} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: missing services fail)", pytrace=False)
    pytest.skip(message)


def cl_bin_dir() -> str:
    """Where the `cl` console script of this interpreter lives."""
    return os.path.dirname(sys.executable)


# --------------------------------------------------------------------------
# test images

class ImageBuildError(Exception):
    """A test image could not be built; the message says why."""


def cache_dir() -> Path:
    for candidate in (os.environ.get("CL_TEST_CACHE"), "/var/cache/cl-test",
                      os.path.join(os.path.expanduser("~"), ".cache", "cl-test")):
        if not candidate:
            continue
        try:
            os.makedirs(candidate, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return Path(candidate)
    raise ImageBuildError("no writable cache directory for test images (set CL_TEST_CACHE)")


@contextlib.contextmanager
def _build_lock():
    # Several pytest sessions may share one engine; one builds, the others wait.
    with open(cache_dir() / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _image_current(client, name: str) -> bool:
    import docker.errors
    try:
        image = client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return (image.labels or {}).get(RECIPE_LABEL) == RECIPES[name]


def _image_id(client, name: str) -> str | None:
    import docker.errors
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return None


def _remove_quietly(client, image_id: str) -> None:
    # The image a rebuild replaced; still in use by a container it stays.
    import docker.errors
    with contextlib.suppress(docker.errors.APIError):
        client.images.remove(image_id, noprune=False)


def _changes(name: str) -> list[str]:
    return [f"ENV PATH={DEFAULT_PATH}", "ENV LANG=C.UTF-8",
            f"LABEL {RECIPE_LABEL}={RECIPES[name]}"]


def _import(client, name: str, source) -> None:
    repository, tag = name.rsplit(":", 1)
    if isinstance(source, (str, Path)):
        client.api.import_image_from_file(str(source), repository=repository, tag=tag,
                                          changes=_changes(name))
    else:
        client.api.import_image_from_data(source, repository=repository, tag=tag,
                                          changes=_changes(name))
    if not _image_current(client, name):
        raise ImageBuildError(f"docker import of {name} did not produce a labelled image")


def _busybox_binary() -> str:
    for path in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox")):
        if path and os.path.isfile(path):
            return path
    raise ImageBuildError("no busybox binary: install Debian's busybox-static")


def busybox_rootfs_tar() -> bytes:
    """The busybox image's root file system as tar bytes, owned by root."""
    binary = _busybox_binary()
    listing = subprocess.run([binary, "--list-full"], capture_output=True, text=True)
    applets = listing.stdout.split()
    if listing.returncode != 0 or "bin/sh" not in applets:
        raise ImageBuildError(f"{binary} --list-full gave no applets; is it busybox-static?")

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(path, kind=tarfile.DIRTYPE, mode=0o755, data=b"", link=""):
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.uid, info.gid = kind, mode, 0, 0
            info.mtime = int(time.time())
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home",
                          "var"):
            add(directory, mode=0o700 if directory == "root" else 0o755)
        add("tmp", mode=0o1777)
        add("var/tmp", mode=0o1777)
        with open(binary, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, f.read())
        for applet in sorted(set(applets) - {"bin/busybox"}):
            add(applet, tarfile.SYMTYPE, 0o777, link="/bin/busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644,
            b"root:x:0:0:root:/root:/bin/sh\n"
            b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnobody:x:65534:\n")
    return buffer.getvalue()


def debian_mirror() -> str:
    """The Debian mirror apt uses here (one-line or deb822 sources)."""
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        with contextlib.suppress(OSError), open(path) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                words = [w for w in words if not w.startswith("[")]  # [arch=…] options
                if len(words) >= 3 and words[0] == "deb" and words[2] == "bookworm":
                    return words[1]
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with contextlib.suppress(OSError), open(path) as f:
            text = f.read()
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if ("deb" in fields.get("Types", "").split()
                    and "bookworm" in fields.get("Suites", "").split()
                    and fields.get("URIs")):
                return fields["URIs"].split()[0]
    return DEFAULT_MIRROR


def python_rootfs_tarball(log=print) -> Path:
    """Build (or reuse) the debootstrapped root file system tarball."""
    tarball = cache_dir() / f"{RECIPES[PYTHON_IMAGE]}.tar"
    if tarball.exists():
        return tarball
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None)
    if debootstrap is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root: run `sudo .venv/bin/python -m "
                              "tests.services --build-images` once")
    mirror = debian_mirror()
    root = Path(tempfile.mkdtemp(prefix="python-rootfs-", dir=cache_dir()))
    logfile = cache_dir() / "debootstrap.log"
    log(f"debootstrap bookworm from {mirror} into {root} (log: {logfile})")
    try:
        with open(logfile, "w") as out:
            done = subprocess.run([debootstrap, "--variant=minbase", "--include=python3-minimal,python3",
                                   "bookworm", str(root), mirror],
                                  stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            tail = "".join(open(logfile).readlines()[-15:])
            raise ImageBuildError(f"debootstrap failed with exit {done.returncode}; "
                                  f"last lines of {logfile}:\n{tail}")
        if not (root / "usr/bin/python3").exists():
            raise ImageBuildError("debootstrap finished but the root has no /usr/bin/python3")
        if not (root / "usr/bin/python").exists():
            os.symlink("python3", root / "usr/bin/python")
        for leftover in glob.glob(str(root / "var/cache/apt/archives/*.deb")) + \
                glob.glob(str(root / "var/lib/apt/lists/*_*")):
            os.unlink(leftover)
        partial = tarball.with_suffix(".tar.partial")
        subprocess.run(["tar", "-C", str(root), "--exclude=./dev/*", "--exclude=./proc/*",
                        "--exclude=./sys/*", "-cf", str(partial), "."], check=True)
        os.replace(partial, tarball)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tarball


def ensure_image(client, name: str, log=print) -> str:
    """Make sure `name` exists with the current recipe; build it if not."""
    if name not in RECIPES:
        raise ValueError(f"unknown test image {name!r}")
    if _image_current(client, name):
        log(f"{name} is up to date")
        return name
    with _build_lock():
        if _image_current(client, name):  # another session built it meanwhile
            return name
        started = time.monotonic()
        stale = _image_id(client, name)
        if name == BUSYBOX_IMAGE:
            _import(client, name, busybox_rootfs_tar())
        else:
            _import(client, name, python_rootfs_tarball(log))
        log(f"built {name} in {time.monotonic() - started:.1f}s")
        if stale:
            _remove_quietly(client, stale)
    return name


def build_images(client=None, names=(BUSYBOX_IMAGE, PYTHON_IMAGE), log=print) -> None:
    import docker
    client = client or docker.from_env()
    for name in names:
        ensure_image(client, name, log)


# --------------------------------------------------------------------------
# Docker fixtures

@pytest.fixture(scope="session")
def docker_engine():
    """A docker.DockerClient that has answered ping()."""
    try:
        import docker
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure to reach the engine means "no engine"
        require_service("docker engine", f"{type(exc).__name__}: {exc}")
    yield client
    client.close()


def _image_fixture(client, name: str) -> str:
    try:
        return ensure_image(client, name, log=lambda _msg: None)
    except ImageBuildError as exc:
        require_service(f"image {name}", str(exc))


@pytest.fixture(scope="session")
def busybox_image(docker_engine) -> str:
    return _image_fixture(docker_engine, BUSYBOX_IMAGE)


@pytest.fixture(scope="session")
def python_image(docker_engine) -> str:
    return _image_fixture(docker_engine, PYTHON_IMAGE)


# --------------------------------------------------------------------------
# sshd

SSHD = "/usr/sbin/sshd"


@dataclasses.dataclass(frozen=True)
class SSHServer:
    """A running sshd on loopback that accepts `key_path` for `user`."""
    host: str
    port: int
    user: str
    key_path: str           # private key (public key next to it, .pub)
    known_hosts_line: str   # "[127.0.0.1]:PORT ssh-ed25519 AAAA…"
    known_hosts_path: str   # a file holding just that line
    path: str               # PATH that commands run over ssh get (has `cl`)

    def ssh_config(self, alias: str = "cltest") -> str:
        """An ~/.ssh/config block for `ssh alias` / paramiko's SSHConfig."""
        return (f"Host {alias}\n"
                f"  HostName {self.host}\n"
                f"  Port {self.port}\n"
                f"  User {self.user}\n"
                f"  IdentityFile {self.key_path}\n"
                f"  IdentitiesOnly yes\n"
                f"  UserKnownHostsFile {self.known_hosts_path}\n"
                f"  StrictHostKeyChecking yes\n")

    def install_client_config(self, home, alias: str = "cltest") -> Path:
        """Write `home`/.ssh/config (alias block) and known_hosts; returns .ssh."""
        dot_ssh = Path(home) / ".ssh"
        dot_ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(dot_ssh / "config", "a") as f:
            f.write(self.ssh_config(alias))
        with open(dot_ssh / "known_hosts", "a") as f:
            f.write(self.known_hosts_line + "\n")
        return dot_ssh

    def ssh_args(self) -> list[str]:
        """Options for the system `ssh` client; append the command."""
        return ["ssh", "-i", self.key_path, "-p", str(self.port),
                "-o", f"UserKnownHostsFile={self.known_hosts_path}",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-F", "/dev/null", f"{self.user}@{self.host}"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                    "-f", str(path)], check=True, capture_output=True)


def _wait_listening(process, port: int) -> bool:
    for _ in range(200):  # about 10 s: sshd usually listens within milliseconds
        if process.poll() is not None:
            return False
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def start_sshd(workdir):
    """Run /usr/sbin/sshd -D as the current user on a free loopback port."""
    workdir = Path(workdir)
    if not os.path.exists(SSHD):
        require_service("sshd", f"{SSHD} not found (apt-get install openssh-server)")
    if shutil.which("ssh-keygen") is None:
        require_service("sshd", "ssh-keygen not found (apt-get install openssh-client)")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privsep dir
    host_key, user_key = workdir / "host_ed25519", workdir / "user_ed25519"
    _keygen(host_key, "cl-test-host")
    _keygen(user_key, "cl-test-user")
    authorized = workdir / "authorized_keys"
    shutil.copyfile(f"{user_key}.pub", authorized)
    os.chmod(authorized, 0o600)
    user = pwd.getpwuid(os.geteuid()).pw_name
    path = f"{cl_bin_dir()}:{DEFAULT_PATH}"

    for _attempt in range(3):  # the free port can be taken before sshd binds it
        port = _free_port()
        config, logfile = workdir / "sshd_config", workdir / "sshd.log"
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\n"
            f"HostKey {host_key}\nPidFile {workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\n"
            f"AllowUsers {user}\n"
            f"SetEnv PATH={path}\n"
            "Subsystem sftp internal-sftp\n"
            "LogLevel VERBOSE\n")
        with open(logfile, "w") as log:
            process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                       stdout=subprocess.DEVNULL, stderr=log)
        if _wait_listening(process, port):
            break
        process.kill()
        process.wait()
    else:
        require_service("sshd", f"sshd did not start: {logfile.read_text()[-2000:]}")

    key_type, key_data = (host_key.with_suffix(".pub").read_text().split()[:2])
    line = f"[127.0.0.1]:{port} {key_type} {key_data}"
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(line + "\n")
    try:
        yield SSHServer(host="127.0.0.1", port=port, user=user, key_path=str(user_key),
                        known_hosts_line=line, known_hosts_path=str(known_hosts), path=path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1 for the whole session; see SSHServer."""
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


# --------------------------------------------------------------------------
# Chromium

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars"]


def find_chromium() -> str | None:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _as_url(url_or_file) -> str:
    text = os.fspath(url_or_file)
    if re.match(r"^[a-z][a-z0-9+.-]*:", text):
        return text
    return Path(text).resolve().as_uri()


@dataclasses.dataclass(frozen=True)
class Chromium:
    """Headless Chromium at `path`; str()/os.fspath() give the path."""
    path: str

    def __str__(self) -> str:
        return self.path

    def __fspath__(self) -> str:
        return self.path

    def _run(self, extra: list[str], url_or_file, timeout: float) -> str:
        with tempfile.TemporaryDirectory(prefix="cl-chromium-") as profile:
            done = subprocess.run(
                [self.path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra,
                 _as_url(url_or_file)],
                capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"chromium exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done.stdout

    def dump_dom(self, url_or_file, timeout: float = 120) -> str:
        """The DOM after page load, serialized as HTML."""
        return self._run(["--dump-dom"], url_or_file, timeout)

    def screenshot(self, url_or_file, out_png, size=(1280, 800), timeout: float = 120) -> Path:
        out = Path(out_png).resolve()
        self._run([f"--screenshot={out}", f"--window-size={size[0]},{size[1]}"],
                  url_or_file, timeout)
        if not out.exists() or out.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            raise AssertionError(f"chromium wrote no PNG at {out}")
        return out


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    path = find_chromium()
    if path is None:
        require_service("chromium", "no chromium binary (apt-get install chromium)")
    return Chromium(path)


# --------------------------------------------------------------------------
# Slurm (a cluster whose controller answers and has a node up; .ci/slurm-up
# makes a one-node one on this machine)

SLURM_TOOLS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo")


def slurm_problem() -> str | None:
    """None when Slurm's commands are installed, the controller answers
    and a node of the default partition is up; else why not."""
    for tool in SLURM_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install slurm-wlm; .ci/slurm-up)"
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 10 s"
    if done.returncode != 0:
        return f"sinfo: {' '.join(done.stderr.split())[:200]}"
    states = {s.rstrip("*~#!%$@^-") for s in done.stdout.split()}
    if not states & {"idle", "mixed", "allocated", "completing"}:
        return f"no node is up (sinfo says: {', '.join(sorted(states)) or 'nothing'})"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """A Slurm cluster that takes jobs; the default partition's name."""
    problem = slurm_problem()
    if problem:
        require_service("slurm", problem)
    done = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True)
    default = [p for p in done.stdout.split() if p.endswith("*")]
    return (default or done.stdout.split() or ["*"])[0].rstrip("*")


# --------------------------------------------------------------------------

def _main(argv: list[str]) -> int:
    if argv != ["--build-images"]:
        print("usage: python -m tests.services --build-images", file=sys.stderr)
        return 2
    try:
        build_images(log=lambda msg: print(f"cl-test: {msg}", flush=True))
    except ImageBuildError as exc:
        print(f"cl-test: image build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
