"""Bounded fuzzing of the live-run path reader (issue 13 item 5): random
paths into a run directory holding files, directories, a FIFO, and links
to inside and outside give an opened node or one CLError (NotInBundle is
one), never another exception, never a block on the FIFO, and never a
node outside the run directory."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles.live import open_live
from cl.errors import CLError
from cl.objects.trees import split_path

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

NAMES = ["a", "a\x00b", "sub", "deep", "f.txt", "pipe", "in", "out", "outdir", "..", ".", "", "nothing",
         "é", "\udcff", " "]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    top = tmp_path_factory.mktemp("live-fuzz")
    outside = top / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("OUTSIDE")
    run = top / "run"
    (run / "sub" / "deep").mkdir(parents=True)
    (run / "f.txt").write_text("inside")
    (run / "sub" / "f.txt").write_text("inside")
    os.mkfifo(run / "pipe")
    os.mkfifo(run / "sub" / "pipe")
    os.symlink("sub", run / "in")
    os.symlink(str(outside), run / "outdir")
    os.symlink(str(outside / "f.txt"), run / "out")
    os.symlink("../outside/f.txt", run / "sub" / "out")
    return run


def _inside(node, run) -> bool:
    real = os.path.realpath(f"/proc/self/fd/{node.fd}")
    return real == str(run) or real.startswith(str(run) + os.sep)


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), max_size=6),
       st.booleans())
def test_any_path_opens_inside_or_fails_with_one_error(run_dir, parts, leading_slash):
    path = ("/" if leading_slash else "") + "/".join(parts)
    try:
        node = open_live(str(run_dir), split_path(path), "0xrun")
    except CLError:
        return
    assert node is not None
    with node:
        assert _inside(node, run_dir)
        if node.is_dir:
            names = [n for n, _, _ in node.listing()]
            assert "OUTSIDE" not in names
        else:
            try:
                with node.open() as f:
                    assert f.read() != b"OUTSIDE"
            except CLError:
                pass  # a FIFO: refused, not opened
