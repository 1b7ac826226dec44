"""`cl upload` end to end through the real console script: files and
directories (modes and links kept), several paths, archives, text, exclude
patterns, kinds, git provenance and `--git-rev REV`, the editor, and the storage
guarantees (a blob's id is `b3sum` of the file; equal data is stored once)."""

import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile

import pytest

from tests.conftest import CL, Exec, Link, cl_env, tree
from tests.services import require_service


def infos(cl, project, *specs):
    """`cl info -v --json` records of several bundles in one call, each with
    its top-level listing as {name: entry}."""
    out = json.loads(cl(["info", "-v", "--json", *specs], project).stdout)
    recs = out if isinstance(out, list) else [out]
    for rec in recs:
        rec["entries"] = {e["name"]: e for e in rec["listing"] or ()}
    return recs


def info(cl, project, spec="^"):
    return infos(cl, project, spec)[0]


def listing(cl, project, spec="^"):
    return info(cl, project, spec)["entries"]


def object_files(project):
    root = project / ".codalab" / "objects"
    return {p.parent.name + p.name: p for p in root.glob("??/*")}


def cat_bytes(cl, project, target) -> bytes:
    """`cl cat` of binary data (run_cl decodes text)."""
    done = subprocess.run([CL, "cat", target], cwd=project, env=cl_env({"HOME": cl.home}),
                          capture_output=True, check=True)
    return done.stdout


def b3sum(path) -> str:
    exe = shutil.which("b3sum")
    if exe is None:
        require_service("b3sum", "Debian's b3sum package is not installed")
    out = subprocess.run([exe, "--no-names", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_blob_id_is_b3sum(project, cl):
    small = project / "small.bin"
    small.write_bytes(os.urandom(5000))
    big = project / "big.bin"  # above the store's streaming threshold (1 MiB)
    big.write_bytes(os.urandom(3 << 20) + b"tail")
    empty = project / "empty"
    empty.write_bytes(b"")
    ids = [cl(["upload", path.name], project).stdout.strip() for path in (small, big, empty)]
    recs = infos(cl, project, *ids)
    for path, rec in zip((small, big, empty), recs):
        assert rec["contents"] == "0x" + b3sum(path)
    assert cat_bytes(cl, project, ids[1]) == big.read_bytes()


def test_same_data_is_stored_once(project, cl):
    data = os.urandom(200_000)
    (project / "one.bin").write_bytes(data)
    tree(project / "copy", {"again.bin": data, "sub": {"third.bin": data}})
    cl(["upload", "one.bin"], project)
    before = object_files(project)
    size_before = sum(p.stat().st_size for p in before.values())
    cl(["upload", "one.bin"], project)
    cl(["upload", "copy"], project)
    after = object_files(project)
    same = [p for p in after.values() if p.stat().st_size == len(data) and p.read_bytes() == data]
    assert len(same) == 1
    grown = sum(p.stat().st_size for p in after.values()) - size_before
    assert grown < 10_000  # two bundles, their states and trees: no second copy of the data
    first, second = infos(cl, project, "one.bin^2", "one.bin")
    assert first["contents"] == second["contents"] and first["id"] != second["id"]


def test_directory_keeps_modes_and_links(project, cl, tmp_path):
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("not part of the upload " + os.urandom(8).hex())
    tree(project / "d", {"run.sh": Exec("#!/bin/sh\necho hi\n"), "a.txt": "aaa\n",
                         "latest": Link("a.txt"), "out": Link(str(secret)),
                         "sub": {"b.txt": "bbb\n"}})
    cl(["upload", "d"], project)
    # a link is stored as its target text; the file it points to is not read
    secret_bytes = secret.read_bytes()
    assert not any(p.read_bytes() == secret_bytes for p in object_files(project).values())
    cl(["upload", "d", "-L", "-n", "followed"], project)
    plain, followed = infos(cl, project, "d", "followed")
    entries = plain["entries"]
    assert {n: e["type"] for n, e in entries.items()} == {
        "a.txt": "file", "latest": "link", "out": "link", "run.sh": "executable", "sub": "directory"}
    assert entries["out"]["size"] == len(str(secret))
    assert cl(["cat", "d/latest"], project).stdout == " -> a.txt\n"  # as CodaLab shows a link
    # download recreates the link and the modes, as writable copies
    cl(["download", "d", "-o", tmp_path / "got"], project)
    got = tmp_path / "got"
    assert os.readlink(got / "latest") == "a.txt"
    assert os.readlink(got / "out") == str(secret)
    assert stat.S_IMODE(os.stat(got / "run.sh").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(got / "a.txt").st_mode) == 0o644
    assert (got / "sub" / "b.txt").read_text() == "bbb\n"
    # -L stores what the links point to
    assert cat_bytes(cl, project, "followed/out") == secret_bytes
    assert followed["entries"]["latest"]["type"] == "file"


def test_several_paths_make_one_directory(project, cl):
    tree(project, {"a.txt": "A\n", "d": {"x": "X\n"}, "other": {"a.txt": "dup\n"}})
    cl(["upload", "a.txt", "d"], project)
    rec = info(cl, project)
    assert rec["name"] == "a.txt"
    assert set(rec["entries"]) == {"a.txt", "d"}
    assert cl(["cat", "^/d/x"], project).stdout == "X\n"
    dup = cl(["upload", "a.txt", "other/a.txt"], project, check=False)
    assert dup.returncode != 0 and "same name" in dup.stderr


def _archives(where):
    """The same small tree as .tar, .tar.gz, .tgz and .zip."""
    src = tree(where / "src", {"top.txt": "top\n", "tool": Exec("#!/bin/sh\n"), "sub": {"s.txt": "s\n"}})
    for name, mode in (("t.tar", "w"), ("t2.tar.gz", "w:gz"), ("t3.tgz", "w:gz")):
        with tarfile.open(where / name, mode) as t:
            for entry in ("top.txt", "tool", "sub"):
                t.add(src / entry, arcname=entry)
    with zipfile.ZipFile(where / "t4.zip", "w") as z:
        for entry in ("top.txt", "tool", "sub/s.txt"):
            z.write(src / entry, arcname=entry)
    return ["t.tar", "t2.tar.gz", "t3.tgz", "t4.zip"]


def test_archives_are_unpacked_unless_pack(project, cl):
    names = _archives(project)
    ids = [cl(["upload", archive], project).stdout.strip() for archive in names]
    packed = cl(["upload", "--pack", "t3.tgz"], project).stdout.strip()
    *recs, packed_rec = infos(cl, project, *ids, packed)
    for archive, rec in zip(names, recs):
        assert rec["name"] == archive.split(".")[0]
        assert set(rec["entries"]) == {"top.txt", "tool", "sub"}, archive
        assert rec["entries"]["tool"]["type"] == "executable", archive
        assert rec["contents"] == recs[0]["contents"], archive  # one tree, whatever the archive
    assert cl(["cat", "t4/sub/s.txt"], project).stdout == "s\n"
    assert packed_rec["name"] == "t3.tgz"
    assert packed_rec["contents"] == "0x" + b3sum(project / "t3.tgz")


def test_text_contents(project, cl):
    bid = cl(["upload", "-c", "hello world", "-n", "greeting"], project).stdout.strip()
    assert cl(["cat", "greeting"], project).stdout == "hello world"
    assert info(cl, project)["id"] == bid
    both = cl(["upload", "-c", "x", "greeting.txt"], project, check=False)
    assert both.returncode != 0


def test_exclude_patterns(project, cl):
    tree(project / "d", {"keep.py": "k\n", "drop.log": "l\n", "cache": {"x": "x\n"},
                         "sub": {"deep.log": "l\n", "ok.txt": "o\n"}})
    cl(["upload", "d", "-x", "*.log", "-x", "cache"], project)
    assert set(listing(cl, project)) == {"keep.py", "sub"}
    assert cl(["cat", "^/sub"], project).stdout.split()[3:] == ["ok.txt", "2", "file"]


def test_kinds_and_the_codalab_form(project, cl):
    (project / "a.txt").write_text("a\n")
    cl(["upload", "a.txt"], project)
    cl(["upload", "--kind", "program", "a.txt"], project)
    cl(["upload", "program", "a.txt", "-n", "prog"], project)
    cl(["upload", "dataset", "a.txt"], project)
    recs = infos(cl, project, "^4", "^3", "^2", "^")
    assert [(r["kind"], r["name"]) for r in recs] == [
        ("dataset", "a.txt"), ("program", "a.txt"), ("program", "prog"), ("dataset", "a.txt")]
    assert len({r["contents"] for r in recs}) == 1


def test_metadata_options(project, cl):
    (project / "a.txt").write_text("a\n")
    cl(["upload", "a.txt", "-n", "named", "-d", "what it is", "--tags", "x y", "--tags", "z"], project)
    rec = info(cl, project)
    assert (rec["name"], rec["description"], rec["tags"]) == ("named", "what it is", ["x", "y", "z"])
    assert rec["source"]["path"] == str(project / "a.txt")


def test_editor_sets_metadata(project, cl, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^name: .*/name: from-editor/; "
                      "s/^description:.*/description: typed in the editor/; s/^tags:.*/tags: e1 e2/' \"$1\"\n")
    editor.chmod(0o755)
    (project / "a.txt").write_text("a\n")
    cl(["upload", "a.txt", "-e"], project, env={"EDITOR": str(editor)})
    rec = info(cl, project)
    assert (rec["name"], rec["description"], rec["tags"]) == ("from-editor", "typed in the editor", ["e1", "e2"])


def test_upload_of_the_project_leaves_out_the_repository(project, cl):
    (project / "code.py").write_text("print(1)\n")
    cl(["upload", "."], project)
    assert set(listing(cl, project)) == {"code.py"}


# --- git -----------------------------------------------------------------------


def git(cwd, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def gitwork(project):
    if shutil.which("git") is None:
        require_service("git", "the git binary is not installed")
    work = project / "work"
    tree(work, {"src": {"code.py": "v1\n", "run.sh": Exec("#!/bin/sh\n"), "link": Link("code.py")},
                "README": "r\n"})
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "one")
    return work


def test_git_provenance_is_recorded(project, cl, gitwork):
    first = git(gitwork, "rev-parse", "HEAD")
    cl(["upload", "work/src"], project)
    (gitwork / "src" / "code.py").write_text("v2 uncommitted\n")
    cl(["upload", "work/src"], project)
    # a change elsewhere in the work tree does not make this path dirty
    git(gitwork, "commit", "-q", "-am", "two")
    second = git(gitwork, "rev-parse", "HEAD")
    (gitwork / "README").write_text("changed\n")
    cl(["upload", "work/src"], project)
    cl(["upload", "work"], project)
    clean, dirty, later, whole = (r["source"]["git"] for r in infos(cl, project, "^4", "^3", "^2", "^"))
    assert clean == {"commit": first, "branch": "main", "dirty": False, "path": "src"}
    assert dirty == {"commit": first, "branch": "main", "dirty": True, "path": "src"}
    assert later == {"commit": second, "branch": "main", "dirty": False, "path": "src"}
    assert whole == {"commit": second, "branch": "main", "dirty": True, "path": ""}


def test_git_rev_uploads_exactly_the_committed_tree(project, cl, gitwork):
    first = git(gitwork, "rev-parse", "HEAD")
    (gitwork / "src" / "code.py").write_text("v2 committed\n")
    git(gitwork, "commit", "-q", "-am", "two")
    (gitwork / "src" / "code.py").write_text("v3 dirty\n")
    (gitwork / "src" / "untracked.txt").write_text("not committed\n")
    cl(["upload", "work/src", "--git-rev", "HEAD", "-n", "head"], project)
    assert cl(["cat", "head/code.py"], project).stdout == "v2 committed\n"
    cl(["upload", "work/src", "--git-rev", "HEAD~1", "-n", "older"], project)
    assert cl(["cat", "older/code.py"], project).stdout == "v1\n"
    # the same committed tree as a plain upload of a clean checkout
    git(gitwork, "checkout", "-q", "--", ".")
    os.unlink(gitwork / "src" / "untracked.txt")
    cl(["upload", "work/src", "-n", "plain"], project)
    rec, older, plain = infos(cl, project, "head", "older", "plain")
    assert {n: e["type"] for n, e in rec["entries"].items()} == {
        "code.py": "file", "link": "link", "run.sh": "executable"}
    assert rec["source"]["git"]["commit"] == git(gitwork, "rev-parse", "HEAD")
    assert rec["source"]["git"]["dirty"] is False
    assert older["source"]["git"]["commit"] == first
    assert plain["contents"] == rec["contents"]
    bad = cl(["upload", "work/src", "--git-rev", "nosuchrev"], project, check=False)
    assert bad.returncode != 0 and bad.stderr.strip() == "cl: unknown git revision: 'nosuchrev'"
