"""docs/api.md's worked example runs, as written, and type-checks under
`mypy --strict` together with the API itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runs.helpers import stop_workers

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
API_FILES = ["cl/__init__.py", "cl/api"]


def example() -> str:
    """The ```python blocks of docs/api.md, in order, as one script."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) >= 4, "docs/api.md lost its example"
    return "\n".join(blocks)


def test_the_example_runs(tmp_path, monkeypatch, docker_engine, busybox_image):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    code = compile(example(), str(DOC), "exec")
    try:
        exec(code, {"__name__": "__api_example__"})
    finally:
        for project in ("experiments", "copy"):
            stop_workers(tmp_path / project)
    assert (tmp_path / "experiments" / ".codalab").is_dir() and (tmp_path / "copy" / ".codalab").is_dir()


def mypy(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                           "--no-incremental", "--cache-dir", os.devnull, *paths],
                          cwd=ROOT, capture_output=True, text=True)


def test_the_api_and_the_example_pass_mypy_strict(tmp_path):
    """--follow-imports=silent: the API's own modules and the example are
    checked strictly; the layers below are used for their signatures."""
    script = tmp_path / "api_example.py"
    script.write_text(example())
    done = mypy(*API_FILES, str(script))
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_check_can_fail(tmp_path):
    """The check above is not vacuous: a misuse of the API is an error."""
    bad = tmp_path / "bad.py"
    bad.write_text("import cl\nrepo = cl.open()\nn: int = repo.bundle('x').name\n")
    done = mypy(str(bad))
    assert done.returncode == 1 and "Incompatible types in assignment" in done.stdout, done.stdout


def test_py_typed_is_shipped():
    assert (ROOT / "cl" / "py.typed").is_file()
    assert re.search(r"\[options.package_data\]\ncl = py.typed", (ROOT / "setup.cfg").read_text())
