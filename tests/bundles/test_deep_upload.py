"""A directory 2000 levels deep (twice Python's recursion limit) through
the real `cl`: upload, cat, download, and a run that reads it from its
checkout and leaves an output tree whose paths are longer than the
kernel's PATH_MAX."""

import os
import subprocess
import tempfile

import pytest

from tests.runs.helpers import configure, local_python, stop_workers

DEPTH = 2000


@pytest.fixture
def deep():
    """`/tmp/clXXXX/deep/d/.../d/f`: a short base, as 2000 levels of `d/`
    are 4000 of the 4096 bytes the kernel takes in one path."""
    where = tempfile.mkdtemp(prefix="cl", dir="/tmp")
    path = os.path.join(where, "deep")
    os.mkdir(path)
    for _ in range(DEPTH):  # not os.makedirs: it recurses
        path = os.path.join(path, "d")
        os.mkdir(path)
    with open(os.path.join(path, "f"), "w") as f:
        f.write("bottom\n")
    yield where
    subprocess.run(["rm", "-rf", where], check=True)


def test_upload_cat_download_run(project, cl, deep):
    rel = "/".join(["d"] * DEPTH + ["f"])
    cl(["upload", os.path.join(deep, "deep")], project)
    assert cl(["cat", f"deep/{rel}"], project).stdout == "bottom\n"
    cl(["download", "deep", "-o", os.path.join(deep, "o")], project)
    with open(os.path.join(deep, "o", rel)) as f:
        assert f.read() == "bottom\n"
    configure(project, executor="local", worker_idle="30s")
    try:
        python = local_python()
        # Step by step: the whole path is longer than the kernel takes.
        code = ("import os; top = os.getcwd(); os.chdir('in')\nfor _ in range(2000): os.chdir('d')\n"
                "data = open('f').read(); os.chdir(top)\n"
                "for _ in range(1500): os.mkdir('eee'); os.chdir('eee')\n"
                "open('g', 'w').write(data)")
        cl(["run", "in:deep", f"{python} -c \"{code}\"", "-n", "deeprun", "-W"], project)
        out = "/".join(["eee"] * 1500 + ["g"])  # 6000 bytes: past PATH_MAX
        assert cl(["cat", f"deeprun/{out}"], project).stdout == "bottom\n"
    finally:
        stop_workers(project)
        # Gone before pytest's own clean-up meets it: shutil.rmtree recurses.
        subprocess.run(["rm", "-rf", str(project)], check=True)
