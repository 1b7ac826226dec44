"""Bounded fuzzing of what `cl fsck` and `cl gc` read: arbitrary bytes
under object names (right, wrong, or not objects at all) and `--prune`
durations.  Whatever is there, fsck reports and gc decides; neither raises
anything but a CLError."""

import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.bundles import maintenance
from cl.bundles.units import parse_duration
from cl.errors import CLError
from cl.objects import encoding
from cl.objects.ids import hash_bytes
from cl.repo import Repository

_template: list[str] = []


def _empty_repo() -> str:
    """One initialised repository, copied for each example (init is slow)."""
    if not _template:
        d = tempfile.mkdtemp(prefix="cl-fuzz-gcsafe-")
        # not bare: a bare store has no refs, and gc refuses a store without
        # refs (repo.db may have lost them)
        Repository.init(d).close()
        _template.append(os.path.join(d, ".codalab"))
    return _template[0]


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

# bytes that look like typed objects as well as any bytes
typed_maps = st.dictionaries(st.sampled_from(["type", "entries", "bundle", "parents", "items", "x"]),
                             st.one_of(st.sampled_from(["tree", "state", "bundle", "worksheet", "result"]),
                                       st.integers(-2**40, 2**40), st.binary(max_size=40),
                                       st.lists(st.binary(min_size=32, max_size=32), max_size=3)),
                             max_size=4).map(lambda m: encoding.encode(m) if m else b"\x80")
contents = st.one_of(st.binary(max_size=200), typed_maps)


@FUZZ
@given(objects=st.lists(st.tuples(contents, st.booleans()), max_size=8),
       odd_names=st.lists(st.text("0123456789abcdefxyz.-", min_size=1, max_size=70), max_size=3))
def test_fsck_and_gc_take_anything_in_objects(objects, odd_names):
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(_empty_repo(), os.path.join(d, "r"), symlinks=True)
        repo = Repository(os.path.join(d, "r"))
        try:
            root = repo.path("objects")
            for data, right_name in objects:
                oid = hash_bytes(data) if right_name else hash_bytes(data + b"!")
                path = os.path.join(root, oid[:2], oid[2:])
                os.makedirs(os.path.dirname(path), exist_ok=True)  # made by a fan-out's first object
                with open(path, "wb") as f:
                    f.write(data)
            for name in odd_names:
                if name not in (".", ".."):
                    where = os.path.join(root, "ab", name)
                    os.makedirs(os.path.dirname(where), exist_ok=True)
                    if not os.path.exists(where):
                        os.mkfifo(where)
            repo.store.close()
            report = maintenance.fsck(repo)
            assert all(isinstance(p, str) for p in report.problems)
            maintenance.gc(repo, grace_seconds=0)
            maintenance.fsck(repo)
        finally:
            repo.close()


@FUZZ
@given(st.text(max_size=60))
def test_prune_durations_are_seconds_or_one_error(text):
    try:
        seconds = parse_duration(text)
    except CLError:
        return
    assert isinstance(seconds, int) and 0 <= seconds <= 10**12
