"""Shared builders for every test: the real-service fixtures (from
tests/services.py), `run_cl` and the `cl` fixture that drive the real console
script, a `project` with `cl init` done, and `tree` to lay out files."""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import pytest

from cl.config import SETTINGS, env_name
from tests.services import *  # noqa: F401,F403  (fixtures: docker_engine, sshd, chromium, …)
from tests.services import BUSYBOX_IMAGE, DEFAULT_PATH, cl_bin_dir

CL = os.path.join(cl_bin_dir(), "cl")

# Variables that would leak the developer's own setup into a test.
_SCRUBBED = ("CODALAB_DIR", "EDITOR", "VISUAL", "PAGER", "GIT_DIR", "GIT_WORK_TREE", "XDG_CONFIG_HOME",
             *(env_name(s.key) for s in SETTINGS if "*" not in s.key))  # CL_RUN_IMAGE, …
_default_home = None


def _session_home() -> str:
    global _default_home
    if _default_home is None:
        _default_home = tempfile.mkdtemp(prefix="cl-test-home-")
        user_config(Path(_default_home))
    return _default_home


def user_config(home: Path) -> Path:
    """The test user's own config (~/.config/cl/config.toml): runs that ask
    for no image get the test fixture image, not cl's default (a public
    image that needs a registry, and there is none here).  A test that
    wants another image configures it in its repository."""
    path = home / ".config" / "cl" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[run]\nimage = "{BUSYBOX_IMAGE}"\n')
    return path


def cl_env(env: dict | None = None) -> dict:
    """A clean environment for `cl`: scratch HOME, no CODALAB_DIR or EDITOR,
    `cl` first on PATH.  Entries of `env` override; a None value unsets."""
    clean = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    clean["HOME"] = _session_home()
    clean["PATH"] = f"{cl_bin_dir()}:{os.environ.get('PATH', DEFAULT_PATH)}"
    for key, value in (env or {}).items():
        if value is None:
            clean.pop(key, None)
        else:
            clean[key] = str(value)
    return clean


def run_cl(args, cwd, input=None, env=None, check=True, timeout=600):
    """Run the real `cl` console script; returns a text CompletedProcess.

    With check (the default) a non-zero exit fails the test with the command,
    directory, stdout and stderr in the message."""
    args = [str(a) for a in args]
    done = subprocess.run([CL, *args], cwd=cwd, input=input, env=cl_env(env),
                          capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(
            f"`cl {shlex.join(args)}` exited {done.returncode} in {cwd}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}")
    return done


@dataclasses.dataclass(frozen=True)
class ClRunner:
    """run_cl bound to one HOME (the `cl` fixture)."""
    home: Path

    def __call__(self, args, cwd, input=None, env=None, check=True, timeout=600):
        return run_cl(args, cwd, input=input, env={"HOME": self.home, **(env or {})},
                      check=check, timeout=timeout)


@pytest.fixture
def cl_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    user_config(home)
    return home


@pytest.fixture
def cl(cl_home) -> ClRunner:
    """`cl(["ls"], cwd)` runs the real console script with this test's HOME."""
    return ClRunner(cl_home)


@pytest.fixture
def project(tmp_path, cl) -> Path:
    """A fresh directory with `cl init` already run in it."""
    path = tmp_path / "project"
    path.mkdir()
    cl(["init"], path)
    return path


def stored_ids(repo_dir) -> set[str]:
    """Every object a repository stores, loose or packed (`repo_dir`: a
    project with .codalab/, or a bare repository)."""
    from cl.objects.store import DiskStore
    root = Path(repo_dir)
    if (root / ".codalab").is_dir():
        root = root / ".codalab"
    return {s.id for s in DiskStore(str(root / "objects"), str(root / "tmp")).stored()}


# --------------------------------------------------------------------------
# file trees

@dataclasses.dataclass(frozen=True)
class Link:
    """A symlink in a `tree` spec."""
    target: str


@dataclasses.dataclass(frozen=True)
class Exec:
    """An executable file (mode 0755) in a `tree` spec."""
    content: str | bytes


def tree(root, spec: dict) -> Path:
    """Create files under `root` from a nested dict:
    {"a.txt": "text", "sub": {"b": b"bytes", "run.sh": Exec("#!/bin/sh\\n"),
     "latest": Link("b")}, "empty": {}}."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, value in spec.items():
        path = root / name
        if isinstance(value, dict):
            tree(path, value)
        elif isinstance(value, Link):
            os.symlink(value.target, path)
        else:
            content = value.content if isinstance(value, Exec) else value
            if isinstance(content, str):
                path.write_text(content)
            else:
                path.write_bytes(content)
            if isinstance(value, Exec):
                os.chmod(path, 0o755)
    return root


# --------------------------------------------------------------------------
# markers from the services a test uses, so `-m "not docker"` works

_SERVICE_MARKERS = {"docker_engine": "docker", "busybox_image": "docker",
                    "python_image": "docker", "sshd": "sshd", "chromium": "chromium",
                    "slurm_cluster": "slurm"}


def pytest_collection_modifyitems(items):
    for item in items:
        names = getattr(item, "fixturenames", ())
        for marker in sorted({m for f, m in _SERVICE_MARKERS.items() if f in names}):
            item.add_marker(marker)
