"""The git state recorded with an upload: what makes the uploaded path
dirty, and that reading it never writes to the user's repository."""

import os
import shutil

import pytest

from cl.bundles.gitsource import describe

from ..conftest import tree
from ..services import require_service
from .test_upload import git


@pytest.fixture
def work(tmp_path):
    if shutil.which("git") is None:
        require_service("git", "the git binary is not installed")
    work = tmp_path / "work"
    tree(work, {"src": {"code.py": "v1\n", "sub": {"deep.py": "d\n"}}, "data": {"big.bin": "x\n"},
                "README": "r\n", ".gitignore": "data/\n*.log\n__pycache__/\n"})
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "src", "README", ".gitignore")
    git(work, "commit", "-q", "-m", "one")
    return work


def dirty(path) -> bool:
    return describe(str(path))["dirty"]


def test_a_clean_path_and_one_elsewhere_changed(work):
    (work / "README").write_text("changed\n")
    assert dirty(work / "src") is False
    assert dirty(work / "src" / "code.py") is False
    assert dirty(work / "README") is True
    assert dirty(work) is True


def test_untracked_files_make_a_path_dirty_unless_ignored(work):
    (work / "src" / "sub" / "notes.log").write_text("ignored\n")
    os.makedirs(work / "src" / "__pycache__")
    (work / "src" / "__pycache__" / "code.pyc").write_text("ignored\n")
    assert dirty(work / "src") is False
    (work / "src" / "sub" / "new.py").write_text("untracked\n")
    assert dirty(work / "src") is True
    assert dirty(work / "src" / "code.py") is False
    assert dirty(work / "src" / "sub" / "new.py") is True


def test_an_ignored_path_is_not_dirty(work):
    assert describe(str(work / "data"))["path"] == "data"
    assert dirty(work / "data") is False
    assert dirty(work / "data" / "big.bin") is False


def test_staged_changes_and_removed_files_are_dirty(work):
    (work / "src" / "code.py").write_text("v2\n")
    git(work, "add", "src/code.py")
    assert dirty(work / "src") is True
    git(work, "commit", "-q", "-m", "two")
    assert dirty(work / "src") is False
    os.unlink(work / "src" / "sub" / "deep.py")
    assert dirty(work / "src") is True


def test_reading_the_state_writes_nothing_to_git(work):
    """git status refreshes the index's stat cache when a file's stat has
    drifted; an upload must only read the user's repository."""
    os.utime(work / "src" / "code.py", (1, 1))  # same bytes, another mtime
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (work / ".git").rglob("*") if p.is_file()}
    assert dirty(work / "src") is False
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (work / ".git").rglob("*") if p.is_file()}
    assert after == before


def test_a_repository_without_commits(tmp_path):
    if shutil.which("git") is None:
        require_service("git", "the git binary is not installed")
    tree(tmp_path / "w", {"a.txt": "a\n"})
    git(tmp_path / "w", "init", "-q", "-b", "main")
    assert describe(str(tmp_path / "w" / "a.txt")) == {"commit": None, "branch": None, "dirty": True,
                                                       "path": "a.txt"}
