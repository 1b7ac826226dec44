"""`cl upload URL` and `cl upload --git URL`, as CodaLab's upload of a URL,
against a real HTTP server on 127.0.0.1 (and a git repository served from
it, or by file://): the file is fetched, an archive unpacked unless
--pack, the URL kept as source_url; a git repository is cloned with its
.git.  A hostile server is bounded: redirects (count and scheme), size
(from Content-Length and while reading), and what is refused stores
nothing."""

import io
import json
import os
import pty
import shutil
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bundles.test_upload import git, infos
from tests.conftest import CL, cl_env, tree
from tests.services import require_service


def _targz(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    """Routes of the test server; `root` serves files (a dumb git repository)."""

    root = None
    routes: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            full = os.path.join(self.root, path.lstrip("/"))
            if ".." in path or not os.path.isfile(full):
                self.send_error(404)
                return
            with open(full, "rb") as f:
                route = ("data", f.read())
        kind, value = route
        if kind == "data":
            self.send_response(200)
            self.send_header("Content-Length", str(len(value)))
            self.end_headers()
            self.wfile.write(value)
        elif kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif kind == "claims":  # says it is huge, sends a little
            self.send_response(200)
            self.send_header("Content-Length", str(value))
            self.end_headers()
            self.wfile.write(b"x" * 1024)
        elif kind == "endless":  # no length, more bytes than any limit in these tests
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(value):
                    self.wfile.write(b"y" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True


@pytest.fixture
def server(tmp_path):
    """(base URL, routes dict, served directory)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = type("H", (_Handler,), {"root": str(root), "routes": {}})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.routes, root
    httpd.shutdown()
    httpd.server_close()


def _ids(cl, project):
    return cl(["ls", "-u"], project).stdout.split()


def _scratch(project):
    tmp = project / ".codalab" / "tmp"
    return [p.name for p in tmp.iterdir() if p.name.startswith("url-")] if tmp.exists() else []


def test_a_url_is_fetched_and_an_archive_unpacked_unless_pack(project, cl, server):
    base, routes, _ = server
    archive = _targz({"a.txt": b"alpha\n", "sub/b.txt": b"beta\n"})
    routes["/data/set.tar.gz"] = ("data", archive)
    routes["/notes.txt"] = ("data", b"just text\n")
    cl(["upload", f"{base}/data/set.tar.gz"], project)
    cl(["upload", f"{base}/data/set.tar.gz", "--pack"], project)
    cl(["upload", f"{base}/notes.txt?version=2"], project)
    unpacked, packed, text = infos(cl, project, "^3", "^2", "^1")
    assert unpacked["name"] == "set" and {e["name"] for e in unpacked["listing"]} == {"a.txt", "sub"}
    assert cl(["cat", "set/sub/b.txt"], project).stdout == "beta\n"
    assert packed["name"] == "set.tar.gz" and packed["listing"] is None
    assert packed["data_size"] == len(archive)
    assert text["name"] == "notes.txt"  # the query is not part of the name, as in CodaLab
    assert cl(["cat", "notes.txt"], project).stdout == "just text\n"
    fields = cl(["info", "-f", "source_url", "notes.txt"], project).stdout
    assert fields == f"{base}/notes.txt?version=2\n"
    assert text["source"] == {"url": f"{base}/notes.txt?version=2"}
    assert _scratch(project) == []


def test_redirects_are_followed_a_few_times_and_only_to_http(project, cl, server):
    base, routes, _ = server
    routes["/final.txt"] = ("data", b"arrived\n")
    routes["/hop1"] = ("redirect", f"{base}/hop2")
    routes["/hop2"] = ("redirect", "/final.txt")
    cl(["upload", f"{base}/hop1", "-n", "hopped"], project)
    assert cl(["cat", "hopped"], project).stdout == "arrived\n"
    before = _ids(cl, project)
    routes["/loop"] = ("redirect", f"{base}/loop")
    for i in range(10):
        routes[f"/chain{i}"] = ("redirect", f"{base}/chain{i + 1}")
    routes["/chain10"] = ("data", b"too far\n")
    routes["/tofile"] = ("redirect", "file:///etc/passwd")
    for path, said in (("/loop", "redirect"), ("/chain0", "redirects"), ("/tofile", "only http and https")):
        bad = cl(["upload", base + path], project, check=False)
        assert bad.returncode == 1, path
        assert bad.stderr.startswith("cl: ") and said in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert _ids(cl, project) == before and _scratch(project) == []


def test_size_limit_from_the_header_and_while_reading(project, cl, server):
    base, routes, _ = server
    routes["/claims-huge"] = ("claims", 50 << 30)  # beyond the 64g default? no: beyond the setting below
    routes["/endless"] = ("endless", 64)           # 4 MiB without a Content-Length
    routes["/small"] = ("data", b"fits\n")
    cl(["config", "upload.max_url_size", "1m"], project)
    for path in ("/claims-huge", "/endless"):
        bad = cl(["upload", base + path], project, check=False)
        assert bad.returncode == 1 and "larger than 1m (setting upload.max_url_size)" in bad.stderr, bad.stderr
    assert _ids(cl, project) == [] and _scratch(project) == []
    cl(["upload", base + "/small"], project)
    assert len(_ids(cl, project)) == 1
    routes["/short"] = ("claims", 4096)  # announces 4096 bytes, sends 1024 and closes
    bad = cl(["upload", base + "/short"], project, check=False)
    assert bad.returncode == 1 and "sent 1024 of the 4096 bytes it announced" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr and len(_ids(cl, project)) == 1 and _scratch(project) == []


def test_only_http_and_https_and_no_mixing(project, cl, server, tmp_path):
    base, routes, _ = server
    routes["/x.txt"] = ("data", b"x\n")
    (project / "local.txt").write_text("l\n")
    cases = [(["ftp://127.0.0.1/x.txt"], "only http and https URLs are fetched"),
             (["file:///etc/passwd"], "only http and https URLs are fetched"),
             (["local.txt", f"{base}/x.txt"], "URLs and local files cannot be uploaded in the same bundle"),
             ([f"{base}/x.txt", f"{base}/x.txt"], "only one URL"),
             ([f"{base}/missing"], "HTTP 404"),
             ([f"{base}/x.txt", "--git-rev", "HEAD"], "--git-rev uploads from a local git work tree"),
             ([f"{base}/x.txt", "--link"], "--link takes exactly one local path")]
    for args, said in cases:
        bad = cl(["upload", *args], project, check=False)
        assert bad.returncode == 1 and said in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)
    assert _ids(cl, project) == []


def test_progress_bar_on_a_terminal(project, cl, server):
    """On a terminal stderr shows the download's progress; piped, nothing."""
    base, routes, _ = server
    routes["/blob.bin"] = ("data", os.urandom(3 << 20))
    master, slave = pty.openpty()
    env = cl_env({"HOME": cl.home, "TERM": "xterm", "COLUMNS": "100"})
    done = subprocess.run([CL, "upload", f"{base}/blob.bin"], cwd=project, env=env, stdout=subprocess.PIPE,
                          stderr=slave, timeout=120)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert done.returncode == 0
    assert b"downloading" in seen and b"MB" in seen, seen
    piped = cl(["upload", f"{base}/blob.bin", "-n", "again"], project)
    assert piped.stderr == ""


# --- git ---------------------------------------------------------------------------


@pytest.fixture
def origin(tmp_path):
    if shutil.which("git") is None:
        require_service("git", "the git binary is not installed")
    work = tree(tmp_path / "origin", {"train.py": "print('v1')\n", "lib": {"util.py": "u\n"}})
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "one")
    (work / "train.py").write_text("print('v2')\n")
    git(work, "commit", "-q", "-am", "two")
    return work


def test_git_clones_a_repository_with_its_git_directory(project, cl, origin):
    head = git(origin, "rev-parse", "HEAD")
    cl(["upload", "--git", f"file://{origin}"], project)
    rec = infos(cl, project, "^")[0]
    assert rec["name"] == "origin"
    assert {e["name"] for e in rec["listing"]} == {".git", "train.py", "lib"}  # CodaLab keeps .git
    assert cl(["cat", "origin/train.py"], project).stdout == "print('v2')\n"
    assert rec["source"]["url"] == f"file://{origin}" and rec["source"]["git"]["commit"] == head
    assert cl(["info", "-f", "source_url", "^"], project).stdout.strip() == f"file://{origin}"


def test_git_over_http_from_a_plain_file_server(project, cl, origin, server):
    """A bare repository served as plain files (git's dumb protocol), with
    a name ending .git, which the bundle's name leaves out."""
    base, _, served = server
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(served / "proj.git")], check=True)
    subprocess.run(["git", "update-server-info"], cwd=served / "proj.git", check=True)
    cl(["upload", "-g", f"{base}/proj.git"], project)
    rec = infos(cl, project, "^")[0]
    assert rec["name"] == "proj"
    assert cl(["cat", "proj/lib/util.py"], project).stdout == "u\n"
    bad = cl(["upload", "-g", f"{base}/nothing.git"], project, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("cl: cannot clone") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert len(cl(["ls", "-u"], project).stdout.split()) == 1


def test_git_refuses_other_transports(project, cl, tmp_path):
    """git's `ext::` transport runs a command: it is no URL to cl (no
    `://`), and `ext://` or `ftp://` is refused before git is asked."""
    marker = tmp_path / "ran"
    bad = cl(["upload", "-g", f"ext::sh -c touch% {marker}"], project, check=False)
    assert bad.returncode == 1 and "no such file or directory" in bad.stderr and not marker.exists()
    for url in ("ext://sh -c touch% x", "ftp://127.0.0.1/repo.git"):
        bad = cl(["upload", "-g", url], project, check=False)
        assert bad.returncode == 1 and "only http, https, git, ssh and file URLs can be cloned" in bad.stderr


def test_git_on_a_local_path_uploads_it_as_codalab_does(project, cl):
    """CodaLab's --git only matters for a URL; a path is uploaded as usual."""
    tree(project, {"d": {"x": "X\n"}})
    cl(["upload", "-g", "d"], project)
    assert json.loads(cl(["info", "--json", "^"], project).stdout)["name"] == "d"
