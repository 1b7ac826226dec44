"""File names that are not UTF-8, through the real `cl` (docs/format.md
[F20]): upload from a directory and from a tar, `cl cat` listings and
files, `cl info`, `cl download`, and a run that sees them in its
dependency's checkout -- every byte of every name kept."""

import io
import json
import os
import subprocess
import sys
import tarfile

from tests.conftest import CL, cl_env
from tests.runs.helpers import configure, local_python, stop_workers

LATIN = b"caf\xe9.txt"
DIR = b"d\xfe"


def _make(root) -> bytes:
    root = os.fsencode(root)
    os.makedirs(os.path.join(root, DIR))
    with open(os.path.join(root, LATIN), "wb") as f:
        f.write(b"latin-1\n")
    with open(os.path.join(root, DIR, b"x\xff"), "wb") as f:
        f.write(b"deep\n")
    return root


def _cl(args, cwd, home, check=True):
    """`cl` with byte arguments, as a shell passes them."""
    done = subprocess.run([CL, *args], cwd=cwd, env=cl_env({"HOME": home}), capture_output=True)
    if check:
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done


def test_upload_cat_info_download(project, cl, tmp_path):
    src = _make(tmp_path / "src")
    assert _cl([b"upload", src, b"-n", b"odd"], project, cl.home).returncode == 0
    listing = _cl([b"cat", b"odd"], project, cl.home)
    assert b"caf\\xe9.txt" in listing.stdout and b"d\\xfe" in listing.stdout  # escapes, one line each
    assert listing.stderr == b""
    assert _cl([b"cat", b"odd/" + LATIN], project, cl.home).stdout == b"latin-1\n"
    assert _cl([b"cat", b"odd/" + DIR + b"/x\xff"], project, cl.home).stdout == b"deep\n"
    rec = json.loads(_cl([b"info", b"-v", b"--json", b"odd"], project, cl.home).stdout)
    assert {os.fsencode(e["name"]) for e in rec["listing"]} == {LATIN, DIR}
    assert _cl([b"info", b"-v", b"odd"], project, cl.home).returncode == 0
    dest = os.fsencode(tmp_path / "out")
    _cl([b"download", b"odd", b"-o", dest], project, cl.home)
    assert sorted(os.listdir(dest)) == sorted([LATIN, DIR])
    with open(os.path.join(dest, DIR, b"x\xff"), "rb") as f:
        assert f.read() == b"deep\n"


def test_a_missing_odd_name_is_one_escaped_line(project, cl, tmp_path):
    _cl([b"upload", _make(tmp_path / "src"), b"-n", b"odd"], project, cl.home)
    done = _cl([b"cat", b"odd/n\xfd"], project, cl.home, check=False)
    assert done.returncode != 0
    assert done.stderr.startswith(b"cl: ") and done.stderr.count(b"\n") == 1
    assert b"n\\xfd" in done.stderr and b"Traceback" not in done.stderr


def test_tar_members_with_odd_names(project, cl, tmp_path):
    archive = tmp_path / "odd.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as t:
        for name, data in ((os.fsdecode(LATIN), b"a\n"), (os.fsdecode(DIR + b"/y\xff"), b"b\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    _cl([b"upload", os.fsencode(archive)], project, cl.home)
    assert _cl([b"cat", b"odd/" + DIR + b"/y\xff"], project, cl.home).stdout == b"b\n"
    assert _cl([b"cat", b"odd/" + LATIN], project, cl.home).stdout == b"a\n"


def test_a_run_sees_the_names(project, cl, tmp_path):
    """Checkouts for runs (hard links) keep the bytes: the run lists its
    dependency with Python's bytes API."""
    configure(project, executor="local", worker_idle="30s")
    try:
        _cl([b"upload", _make(tmp_path / "src"), b"-n", b"odd"], project, cl.home)
        python = local_python().encode()
        code = b"import os; print(sorted(os.listdir(b'in')), os.listdir(b'in/d\\xfe'))"
        _cl([b"run", b"in:odd", python + b" -c \"" + code + b"\" > seen", b"-n", b"look", b"-W"],
            project, cl.home)
        seen = _cl([b"cat", b"look/seen"], project, cl.home).stdout
        assert seen == repr(sorted([LATIN, DIR])).encode() + b" [b'x\\xff']\n"
    finally:
        stop_workers(project)


def test_git_revision_with_odd_names(project, cl, tmp_path):
    """`cl upload --git-rev REV` keeps a committed name's bytes too."""
    work = _make(tmp_path / "work")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "odd"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    _cl([b"upload", work, b"--git-rev", b"HEAD", b"-n", b"gitodd"], project, cl.home)
    assert _cl([b"cat", b"gitodd/" + DIR + b"/x\xff"], project, cl.home).stdout == b"deep\n"


def test_a_docker_run_sees_and_leaves_odd_names(project, cl, tmp_path, docker_engine, busybox_image):
    """In Docker too: the dependency's checkout has the bytes, and a name
    the run makes with bytes that are not UTF-8 is stored as it is."""
    from tests.runs.helpers import start_worker
    configure(project, auto_worker=False, image=busybox_image)
    start_worker(project)
    try:
        _cl([b"upload", _make(tmp_path / "src"), b"-n", b"odd"], project, cl.home)
        # (a command is text: the bytes are made by printf inside the run)
        # (busybox ls shows such bytes as ?; a glob gives them as they are)
        command = b"for f in in/d*/*; do echo \"$f\"; done > seen; touch \"$(printf 'made\\375')\""
        _cl([b"run", b"in:odd", command, b"-n", b"dock", b"-W"], project, cl.home)
        assert _cl([b"cat", b"dock/seen"], project, cl.home).stdout == b"in/d\xfe/x\xff\n"
        dest = os.fsencode(tmp_path / "dl")
        _cl([b"download", b"dock", b"-o", dest], project, cl.home)
        assert b"made\xfd" in os.listdir(dest)
    finally:
        stop_workers(project, docker_engine)


def test_listing_columns_line_up(project, cl, tmp_path):
    """Escapes are made before the columns are measured."""
    _cl([b"upload", _make(tmp_path / "src"), b"-n", b"odd"], project, cl.home)
    lines = _cl([b"cat", b"odd"], project, cl.home).stdout.decode().splitlines()
    second_column = {len(line) - len(line[line.index("  "):].lstrip()) for line in lines}
    assert len(second_column) == 1, lines
